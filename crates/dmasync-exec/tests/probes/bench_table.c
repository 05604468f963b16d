/* The cost table of kernel-behaviour.md ("Cost on the real kernel"), one
 * row per operation, in ns/op (wall time, mean over n iterations), plus
 * the floors: getppid() (never leaves the kernel), SW_SYNC_IOC_INC (one
 * bare served ioctl; what bench_inc.c measures), an open of /dev/udmabuf
 * and its close (a served call that installs an fd: the path is read and
 * resolved, a new description made, installed with ADDFD) and, natively,
 * a pipe write waking a poll in another process. Rows whose
 * device is missing (natively, on a host without sw_sync) print "n/a".
 *
 * The cross-process row: a fence is created in this process, its sync
 * file sent over SCM_RIGHTS to a child blocked in poll(); the time from
 * just before SW_SYNC_IOC_INC to the child's return from poll (the
 * child's CLOCK_MONOTONIC, sent back) is the wake-up latency.
 *
 *   gcc -O2 bench_table.c -o bench_table && ./bench_table 20000
 *   dmasync exec -- ./bench_table 20000 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct sw_sync_create_fence_data { uint32_t value; char name[32]; int32_t fence; };
struct sync_merge_data { char name[32]; int32_t fd2; int32_t fence; uint32_t flags; uint32_t pad; };
struct sync_fence_info { char obj_name[32]; char driver_name[32]; int32_t status; uint32_t flags; uint64_t timestamp_ns; };
struct sync_file_info { char name[32]; int32_t status; uint32_t flags; uint32_t num_fences; uint32_t pad; uint64_t sync_fence_info; };
struct dma_buf_export_sync_file { uint32_t flags; int32_t fd; };
struct dma_buf_import_sync_file { uint32_t flags; int32_t fd; };
struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };

#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)
#define SYNC_IOC_MERGE _IOWR('>', 3, struct sync_merge_data)
#define SYNC_IOC_FILE_INFO _IOWR('>', 4, struct sync_file_info)
#define DMA_BUF_SYNC_READ 1
#define DMA_BUF_SYNC_WRITE 2
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR('b', 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW('b', 3, struct dma_buf_import_sync_file)
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0, struct dma_heap_allocation_data)

#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"
#define PENDING 0x40000000u

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void row(const char *name, double ns)
{
	printf("%-40s %10.0f ns/op\n", name, ns);
}

static int create(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value };
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d))
		die("SW_SYNC_IOC_CREATE_FENCE");
	return d.fence;
}

static int merge(int a, int b)
{
	struct sync_merge_data m = { .fd2 = b };
	if (ioctl(a, SYNC_IOC_MERGE, &m))
		die("SYNC_IOC_MERGE");
	return m.fence;
}

static int open_tl(void)
{
	int tl = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	if (tl < 0)
		die("open " SW_SYNC);
	return tl;
}

/* A sync file of `n` pending fences, one per timeline (kept open in tls). */
static int many(int n, int *tls)
{
	int f = -1, i;
	for (i = 0; i < n; i++) {
		int g = create(tls[i], PENDING), h;
		if (f < 0) {
			f = g;
			continue;
		}
		h = merge(f, g);
		close(f);
		close(g);
		f = h;
	}
	return f;
}

static void send_fd(int sock, int fd)
{
	char c = 0, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &m, 0) != 1)
		die("sendmsg");
}

static int recv_fd(int sock)
{
	char c, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
	int fd;
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	return fd;
}

/* Wake-up latency: the child polls each fd it is sent (a sync file, or the
 * read end of a pipe when `use_pipe`) and sends back when poll returned. */
static double cross(int n, int use_pipe)
{
	int sv[2], tl = -1, i;
	double total = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	if (!use_pipe)
		tl = open_tl();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		for (;;) {
			int fd = recv_fd(sv[1]);
			struct pollfd p;
			double t;
			if (fd < 0)
				_exit(0);
			p.fd = fd;
			p.events = POLLIN;
			if (poll(&p, 1, -1) != 1)
				_exit(1);
			t = now();
			close(fd);
			if (write(sv[1], &t, sizeof(t)) != sizeof(t))
				_exit(1);
		}
	}
	close(sv[1]);
	for (i = 0; i < n; i++) {
		uint32_t one = 1;
		int p[2], fd;
		double t0, t1;
		if (use_pipe) {
			if (pipe2(p, O_CLOEXEC))
				die("pipe");
			fd = p[0];
		} else {
			fd = create(tl, (uint32_t)i + 1);
		}
		send_fd(sv[0], fd);
		close(fd);
		/* Let the child reach its poll before signalling. */
		usleep(200);
		t0 = now();
		if (use_pipe) {
			if (write(p[1], "x", 1) != 1)
				die("write");
		} else if (ioctl(tl, SW_SYNC_IOC_INC, &one)) {
			die("SW_SYNC_IOC_INC");
		}
		if (read(sv[0], &t1, sizeof(t1)) != sizeof(t1))
			die("read");
		if (use_pipe)
			close(p[1]);
		total += t1 - t0;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	if (tl >= 0)
		close(tl);
	return total / n;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	int tls[64], tl, heap, buf, f64, f16, a, b, i, have;
	uint32_t one = 1;
	double t;
	struct sync_fence_info fi[64];
	struct sync_file_info info;
	struct pollfd p;
	struct dma_heap_allocation_data d = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };
	struct dma_buf_import_sync_file imp;
	struct dma_buf_export_sync_file exp;

	t = now();
	for (i = 0; i < n; i++)
		getppid();
	row("floor: getppid", (now() - t) / n);
	row("floor: pipe wakes poll in other process", cross(n / 20 + 1, 1));

	have = access(SW_SYNC, F_OK) == 0;
	if (!have) {
		printf("(no %s: the device rows are n/a)\n", SW_SYNC);
		return 0;
	}
	tl = open_tl();
	t = now();
	for (i = 0; i < n; i++)
		if (ioctl(tl, SW_SYNC_IOC_INC, &one))
			die("SW_SYNC_IOC_INC");
	row("floor: SW_SYNC_IOC_INC", (now() - t) / n);
	close(tl);

	t = now();
	for (i = 0; i < n; i++) {
		int fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			die("open /dev/udmabuf");
		close(fd);
	}
	row("open /dev/udmabuf + close", (now() - t) / n);

	tl = open_tl();
	t = now();
	for (i = 0; i < n; i++)
		close(create(tl, PENDING));
	row("sw_sync create fence + close", (now() - t) / n);

	a = create(tl, PENDING);
	b = create(tl, PENDING + 1);
	t = now();
	for (i = 0; i < n; i++)
		close(merge(a, b));
	row("merge 2 pending sync files + close", (now() - t) / n);
	close(a);
	close(b);
	close(tl);

	for (i = 0; i < 64; i++)
		tls[i] = open_tl();
	f64 = many(64, tls);
	t = now();
	for (i = 0; i < n; i++) {
		memset(&info, 0, sizeof(info));
		info.num_fences = 64;
		info.sync_fence_info = (uintptr_t)fi;
		if (ioctl(f64, SYNC_IOC_FILE_INFO, &info) || info.num_fences != 64)
			die("SYNC_IOC_FILE_INFO");
	}
	row("FILE_INFO with 64 entries", (now() - t) / n);

	tl = open_tl();
	a = create(tl, 0);
	t = now();
	for (i = 0; i < n; i++) {
		p.fd = a;
		p.events = POLLIN;
		if (poll(&p, 1, 0) != 1)
			die("poll signalled");
	}
	row("poll(0) on a signalled sync file", (now() - t) / n);
	close(a);
	close(tl);

	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	if (heap < 0 || ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		die("heap alloc");
	buf = d.fd;
	t = now();
	for (i = 0; i < n; i++) {
		p.fd = buf;
		p.events = POLLIN | POLLOUT;
		if (poll(&p, 1, 0) != 1)
			die("poll idle dma-buf");
	}
	row("poll(0) IN|OUT on an idle dma-buf", (now() - t) / n);

	t = now();
	for (i = 0; i < n / 10 + 1; i++) {
		imp.flags = DMA_BUF_SYNC_WRITE;
		imp.fd = f64;
		if (ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp))
			die("IMPORT_SYNC_FILE");
	}
	row("IMPORT_SYNC_FILE of a 64-fence file", (now() - t) / (n / 10 + 1));
	close(buf);

	d.fd = 0;
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		die("heap alloc");
	buf = d.fd;
	f16 = many(16, tls);
	imp.flags = DMA_BUF_SYNC_WRITE;
	imp.fd = f16;
	if (ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp))
		die("IMPORT_SYNC_FILE 16");
	t = now();
	for (i = 0; i < n; i++) {
		exp.flags = DMA_BUF_SYNC_READ;
		exp.fd = -1;
		if (ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp))
			die("EXPORT_SYNC_FILE");
		close(exp.fd);
	}
	row("EXPORT_SYNC_FILE, 16 fences + close", (now() - t) / n);
	close(buf);
	close(f16);
	close(f64);
	close(heap);

	row("cross-process: INC wakes poll (SCM_RIGHTS)", cross(n / 20 + 1, 0));
	for (i = 0; i < 64; i++)
		close(tls[i]);
	return 0;
}
