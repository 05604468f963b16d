/* File-level behaviour of dma-buf fds (system heap, udmabuf, vgem PRIME
 * alike): lseek, fstat, read/write, mmap, dup, fork, the ioctls a dma-buf
 * does not know. The dma-buf part of "File-level behaviour" in
 * kernel-behaviour.md. Golden: golden/dmabuf-files.txt. */
#include "resv.h"
#include <linux/falloc.h>

static int heap_fd, udmabuf_fd, card;

static int heap_buf(void)
{
	struct dma_heap_allocation_data d = { .len = 4 * PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
	return ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
}

static int udma_buf(void)
{
	int m = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC), fd;
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = 4 * PAGE };
	ftruncate(m, 4 * PAGE);
	fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
	c.memfd = m;
	fd = ioctl(udmabuf_fd, UDMABUF_CREATE, &c);
	if (fd < 0)
		fd = -errno;
	close(m);
	return fd;
}

static uint32_t last_handle;

static int vgem_buf(void)
{
	struct drm_mode_create_dumb d = { .height = 4, .width = 1024, .bpp = 32 };
	struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d))
		return -errno;
	p.handle = last_handle = d.handle;
	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -errno;
	return p.fd;
}

static const char *lseek_of(int fd, off_t off, int whence)
{
	static char buf[4][32];
	static int slot;
	off_t r = lseek(fd, off, whence);
	if (r < 0)
		return errname(errno);
	slot = (slot + 1) % 4;
	snprintf(buf[slot], 32, "%lld", (long long)r);
	return buf[slot];
}

static const char *mmap_of(int fd, size_t len, off_t off, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return errname(errno);
	munmap(p, len);
	return "ok";
}

static void files(const char *k, int (*make)(void))
{
	int a = make(), b = make(), d, status, ep;
	pid_t pid;
	struct stat sa, sb, sd;
	char byte = 0;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

	if (a < 0 || b < 0) {
		out("%s: FATAL making buffers %s", k, errname(-(a < 0 ? a : b)));
		exit(2);
	}
	out("%s: lseek 0 SEEK_END %s", k, lseek_of(a, 0, SEEK_END));
	out("%s: lseek 0 SEEK_SET %s", k, lseek_of(a, 0, SEEK_SET));
	out("%s: lseek 0 SEEK_CUR %s", k, lseek_of(a, 0, SEEK_CUR));
	out("%s: lseek 1 SEEK_SET %s", k, lseek_of(a, 1, SEEK_SET));
	out("%s: lseek -1 SEEK_END %s", k, lseek_of(a, -1, SEEK_END));
	out("%s: lseek 0 SEEK_DATA %s", k, lseek_of(a, 0, SEEK_DATA));
	out("%s: lseek 0 whence 99 %s", k, lseek_of(a, 0, 99));
	out("%s: fallocate punch %s", k, rc(fallocate(a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE)));
	out("%s: fallocate length 0 %s", k, rc(fallocate(a, 0, 0, 0)));
	out("%s: fallocate mode 0x100 %s", k, rc(fallocate(a, 0x100, 0, PAGE)));
	fstat(a, &sa);
	fstat(b, &sb);
	out("%s: fstat mode=%o size=%lld", k, sa.st_mode, (long long)sa.st_size);
	out("%s: two buffers have different inodes %s", k, yesno(sa.st_ino != sb.st_ino));
	out("%s: two buffers have the same st_dev %s", k, yesno(sa.st_dev == sb.st_dev));
	d = dup(a);
	fstat(d, &sd);
	out("%s: dup has the same inode %s", k, yesno(sd.st_ino == sa.st_ino && sd.st_dev == sa.st_dev));
	close(d);
	out("%s: FD_CLOEXEC %s, access mode %d", k, yesno(fcntl(a, F_GETFD) & FD_CLOEXEC), fcntl(a, F_GETFL) & O_ACCMODE);
	out("%s: F_GETFL 0%o", k, fcntl(a, F_GETFL));
	out("%s: F_SETFL O_NONBLOCK %s", k, rc(fcntl(a, F_SETFL, O_NONBLOCK)));
	out("%s: then F_GETFL 0%o", k, fcntl(a, F_GETFL));
	out("%s: F_SETFL 0 %s", k, rc(fcntl(a, F_SETFL, 0)));
	out("%s: then F_GETFL 0%o", k, fcntl(a, F_GETFL));
	out("%s: F_GET_SEALS %s", k, rc(fcntl(a, F_GET_SEALS)));
	out("%s: F_ADD_SEALS F_SEAL_WRITE %s", k, rc(fcntl(a, F_ADD_SEALS, F_SEAL_WRITE)));
	{
		struct statx sx = { 0 };
		int r = statx(a, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx);
		out("%s: st_blocks %lld, statx %s stx_blocks %llu", k, (long long)sa.st_blocks, rc(r),
		    (unsigned long long)sx.stx_blocks);
	}
	out("%s: read %s", k, rc(read(a, &byte, 1)));
	out("%s: write %s", k, rc(write(a, "x", 1)));
	out("%s: pread %s", k, rc(pread(a, &byte, 1, 0)));
	out("%s: mmap of the size, shared %s", k, mmap_of(a, 4 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_SHARED));
	out("%s: mmap of one page at page 3 %s", k, mmap_of(a, PAGE, 3 * PAGE, PROT_READ, MAP_SHARED));
	out("%s: mmap of more than the size %s", k, mmap_of(a, 5 * PAGE, 0, PROT_READ, MAP_SHARED));
	out("%s: mmap at an offset past the end %s", k, mmap_of(a, PAGE, 4 * PAGE, PROT_READ, MAP_SHARED));
	out("%s: mmap of 2 pages at page 3 %s", k, mmap_of(a, 2 * PAGE, 3 * PAGE, PROT_READ, MAP_SHARED));
	out("%s: mmap private %s", k, mmap_of(a, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE));
	{
		char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
		char *q = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, a, 0);
		if (p != MAP_FAILED && q != MAP_FAILED) {
			out("%s: a new buffer reads as zeroes %s", k, yesno(q[0] == 0 && q[4 * PAGE - 1] == 0));
			p[100] = 'A';
			p[3 * PAGE] = 'B';
			out("%s: a write through one mapping is seen through another %s", k,
			    yesno(q[100] == 'A' && q[3 * PAGE] == 'B'));
			pid = fork();
			if (pid == 0)
				exit(q[100] == 'A' ? (p[200] = 'C', 0) : 1);
			waitpid(pid, &status, 0);
			out("%s: a forked child sees it and writes: exit %d, seen %s", k, WEXITSTATUS(status),
			    yesno(q[200] == 'C'));
			munmap(p, 4 * PAGE);
			munmap(q, 4 * PAGE);
		} else {
			out("%s: mmap failed", k);
		}
	}
	/* a child process gets the dma-buf by fork and its own mapping */
	pid = fork();
	if (pid == 0) {
		char *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, a, 0);
		exit(p != MAP_FAILED && p[100] == 'A' ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	out("%s: a forked child maps it and reads the data: exit %d", k, WEXITSTATUS(status));

	/* ioctls a dma-buf does not know */
	{
		char legacy[40] = { 0 }, arg[64] = { 0 };
		struct sync_file_info info;
		memset(&info, 0, sizeof(info));
		out("%s: legacy FENCE_INFO %s", k, rc(ioctl(a, SYNC_IOC_LEGACY_FENCE_INFO, legacy)));
		out("%s: FILE_INFO %s", k, rc(ioctl(a, SYNC_IOC_FILE_INFO, &info)));
		out("%s: MERGE %s", k, rc(ioctl(a, SYNC_IOC_MERGE, arg)));
		out("%s: INC %s", k, rc(ioctl(a, SW_SYNC_IOC_INC, arg)));
		for (int nr = 4; nr < 8; nr++)
			out("%s: _IOWR('b', %d, 8 bytes) %s", k, nr, rc(ioctl(a, _IOWR('b', nr, uint64_t), arg)));
		out("%s: _IO('b', 0xff) %s", k, rc(ioctl(a, _IO('b', 0xff))));
		out("%s: FIONREAD %s", k, rc(ioctl(a, FIONREAD, arg)));
		out("%s: UDMABUF_CREATE %s", k, rc(ioctl(a, UDMABUF_CREATE, arg)));
		out("%s: DMA_HEAP_IOCTL_ALLOC %s", k, rc(ioctl(a, DMA_HEAP_IOCTL_ALLOC, arg)));
		out("%s: DRM_IOCTL_VERSION %s", k, rc(ioctl(a, DRM_IOCTL_VERSION, arg)));
	}
	/* epoll on an idle buffer */
	ep = epoll_create1(EPOLL_CLOEXEC);
	out("%s: epoll ADD %s", k, rc(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev)));
	out("%s: idle: epoll %s", k, epoll_now(ep, 0));
	close(ep);
	out("%s: poll with no events %s", k, poll_now(a, 0, 0));
	out("%s: poll PRI %s", k, poll_now(a, POLLPRI, 0));
	show_fdinfo(k, a);
	close(a);
	close(b);
}

int main(void)
{
	probe_init();
	heap_fd = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udmabuf_fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	out("open heap %s, udmabuf %s, card0 %s", heap_fd >= 0 ? "ok" : errname(errno),
	    udmabuf_fd >= 0 ? "ok" : "failed", card >= 0 ? "ok" : "failed");
	if (heap_fd < 0 || udmabuf_fd < 0 || card < 0)
		return 2;
	/* The devices themselves. */
	{
		struct stat st;
		static const char *paths[] = { "/dev/dma_heap/system", "/dev/udmabuf", "/dev/dri/card0",
					       "/dev/dri/renderD128", "/dev/dma_heap" };
		for (int i = 0; i < 5; i++) {
			int r = stat(paths[i], &st);
			out("stat %s %s type %s", paths[i], rc(r),
			    r ? "-" : S_ISCHR(st.st_mode) ? "char" : S_ISDIR(st.st_mode) ? "dir" : "other");
		}
		out("heap device: F_GETFL 0%o, F_GET_SEALS %s", fcntl(heap_fd, F_GETFL), rc(fcntl(heap_fd, F_GET_SEALS)));
		out("udmabuf device: F_GETFL 0%o, F_GET_SEALS %s", fcntl(udmabuf_fd, F_GETFL),
		    rc(fcntl(udmabuf_fd, F_GET_SEALS)));
		out("card0: F_GETFL 0%o, F_GET_SEALS %s, F_ADD_SEALS %s", fcntl(card, F_GETFL),
		    rc(fcntl(card, F_GET_SEALS)), rc(fcntl(card, F_ADD_SEALS, F_SEAL_SEAL)));
		out("heap device: F_ADD_SEALS %s", rc(fcntl(heap_fd, F_ADD_SEALS, F_SEAL_SEAL)));
		out("heap device: lseek %s", rc(lseek(heap_fd, 0, SEEK_SET)));
		out("udmabuf device: lseek %s", rc(lseek(udmabuf_fd, 0, SEEK_SET)));
		out("heap device: fallocate %s", rc(fallocate(heap_fd, 0, 0, PAGE)));
		out("udmabuf device: fallocate %s", rc(fallocate(udmabuf_fd, 0, 0, PAGE)));
		out("card0: fallocate %s", rc(fallocate(card, 0, 0, PAGE)));
		out("card0: lseek 0 SEEK_END %s", rc(lseek(card, 0, SEEK_END)));
		out("card0: lseek 7 SEEK_SET %s", rc(lseek(card, 7, SEEK_SET)));
		out("card0: lseek 0 SEEK_CUR %s", rc(lseek(card, 0, SEEK_CUR)));
		out("card0: lseek 0 whence 99 %s", rc(lseek(card, 0, 99)));
		out("heap device: lseek 0 whence 99 %s", rc(lseek(heap_fd, 0, 99)));
		{
			int n = -1;
			out("heap device: FIONREAD %s", rc(ioctl(heap_fd, FIONREAD, &n)));
			out("udmabuf device: FIONREAD %s", rc(ioctl(udmabuf_fd, FIONREAD, &n)));
			out("card0: FIONREAD %s", rc(ioctl(card, FIONREAD, &n)));
		}
		out("heap device: poll IN|OUT %s", poll_now(heap_fd, POLLIN | POLLOUT, 0));
		out("udmabuf device: poll IN|OUT %s", poll_now(udmabuf_fd, POLLIN | POLLOUT, 0));
		out("card0: poll IN|OUT %s", poll_now(card, POLLIN | POLLOUT, 0));
		out("heap device: mmap %s", mmap_of(heap_fd, PAGE, 0, PROT_READ, MAP_SHARED));
		out("udmabuf device: mmap %s", mmap_of(udmabuf_fd, PAGE, 0, PROT_READ, MAP_SHARED));
		out("udmabuf device: mmap of length 0 %s", mmap_of(udmabuf_fd, 0, 0, PROT_READ, MAP_SHARED));
		out("card0: mmap at 0 %s", mmap_of(card, PAGE, 0, PROT_READ, MAP_SHARED));
		{
			int o = open("/dev/dma_heap/system", O_PATH | O_CLOEXEC);
			out("heap O_PATH: mmap %s", mmap_of(o, PAGE, 0, PROT_READ, MAP_SHARED));
			close(o);
		}
	}
	files("heap", heap_buf);
	files("udmabuf", udma_buf);
	files("vgem", vgem_buf);
	/* vgem: the same buffer exported twice is one dma-buf */
	{
		int a = vgem_buf(), b;
		struct drm_prime_handle p = { .handle = last_handle, .flags = DRM_CLOEXEC, .fd = -1 };
		struct stat x, y;
		ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
		b = p.fd;
		fstat(a, &x);
		fstat(b, &y);
		out("vgem: exported twice: same inode %s", yesno(x.st_ino == y.st_ino));
		close(a);
		close(b);
	}
	out("end");
	return 0;
}
