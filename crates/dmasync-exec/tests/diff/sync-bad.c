/* Bad inputs to the sw_sync and sync_file ioctls: wrong numbers and sizes,
 * flags and pad bytes, fds that are not ours or are closed, null, dangling,
 * read-only and half-mapped argument pointers, huge counts. Each line also
 * says whether a failed call left an fd behind. Golden: golden/sync-bad.txt. */
#include "probe.h"
#include <sys/eventfd.h>
#include <sys/resource.h>

/* An ioctl that may create an fd: its result and whether the lowest free
 * fd number moved (an fd was left behind). */
static const char *call(int fd, unsigned long cmd, void *arg)
{
	static char buf[8][48];
	static int slot;
	int before = next_fd(), r = ioctl(fd, cmd, arg), e = errno, after = next_fd();
	slot = (slot + 1) % 8;
	snprintf(buf[slot], 48, "%s%s", r >= 0 ? "ok" : errname(e), before != after && r < 0 ? " (fd left behind)" : "");
	return buf[slot];
}

static void numbers(void)
{
	int tl = open_timeline(), f = create_fence(tl, 1);
	char arg[256];

	memset(arg, 0, sizeof(arg));
	out("number: CREATE_FENCE size 36 %s", call(tl, _IOWR('W', 0, char[36]), arg));
	out("number: CREATE_FENCE size 44 %s", call(tl, _IOWR('W', 0, char[44]), arg));
	out("number: CREATE_FENCE as _IOW %s", call(tl, _IOW('W', 0, struct sw_sync_create_fence_data), arg));
	out("number: CREATE_FENCE as _IOR %s", call(tl, _IOR('W', 0, struct sw_sync_create_fence_data), arg));
	out("number: CREATE_FENCE as _IO %s", call(tl, _IO('W', 0), arg));
	out("number: INC size 8 %s", call(tl, _IOW('W', 1, uint64_t), arg));
	out("number: INC as _IOWR %s", call(tl, _IOWR('W', 1, uint32_t), arg));
	out("number: INC as _IO %s", call(tl, _IO('W', 1), arg));
	out("number: GET_DEADLINE size 12 %s", call(tl, _IOWR('W', 2, char[12]), arg));
	out("number: GET_DEADLINE as _IOR %s", call(tl, _IOR('W', 2, struct sw_sync_get_deadline), arg));
	out("number: 'W' 3 %s", call(tl, _IOWR('W', 3, uint32_t), arg));
	out("number: 'W' 0xff %s", call(tl, _IO('W', 0xff), arg));
	out("number: INC with type 'V' %s", call(tl, _IOW('V', 1, uint32_t), arg));
	out("number: MERGE size 44 %s", call(f, _IOWR('>', 3, char[44]), arg));
	out("number: MERGE as _IOW %s", call(f, _IOW('>', 3, struct sync_merge_data), arg));
	out("number: FILE_INFO size 48 %s", call(f, _IOWR('>', 4, char[48]), arg));
	out("number: FILE_INFO as _IOR %s", call(f, _IOR('>', 4, struct sync_file_info), arg));
	out("number: FILE_INFO as _IOW %s", call(f, _IOW('>', 4, struct sync_file_info), arg));
	out("number: SET_DEADLINE size 8 %s", call(f, _IOW('>', 5, uint64_t), arg));
	out("number: SET_DEADLINE as _IOWR %s", call(f, _IOWR('>', 5, struct sync_set_deadline), arg));
	out("number: FILE_INFO with type '<' %s", call(f, _IOWR('<', 4, struct sync_file_info), arg));
	out("number: CREATE_FENCE on a sync file %s", call(f, SW_SYNC_IOC_CREATE_FENCE, arg));
	out("number: GET_DEADLINE on a sync file %s", call(f, SW_SYNC_GET_DEADLINE, arg));
	out("number: SET_DEADLINE on a timeline %s", call(tl, SYNC_IOC_SET_DEADLINE, arg));
	close(f);
	close(tl);
}

static void flags_and_pad(void)
{
	int tl = open_timeline(), tl2 = open_timeline(), a = create_fence(tl, 1), b = create_fence(tl2, 1);
	struct sync_merge_data m;
	struct sync_file_info info;
	struct sync_fence_info fi[2];
	struct sync_set_deadline sd;
	struct sw_sync_get_deadline gd;
	struct sw_sync_create_fence_data cf;

	memset(&m, 0, sizeof(m));
	m.fd2 = b;
	m.flags = 1;
	out("flags: MERGE flags 1 %s", call(a, SYNC_IOC_MERGE, &m));
	m.flags = 0x80000000;
	out("flags: MERGE flags 0x80000000 %s", call(a, SYNC_IOC_MERGE, &m));
	m.flags = 0;
	m.pad = 1;
	out("flags: MERGE pad 1 %s", call(a, SYNC_IOC_MERGE, &m));
	m.pad = 0;
	m.fence = 12345;
	out("flags: MERGE with fence preset %s", call(a, SYNC_IOC_MERGE, &m));
	if (m.fence != 12345)
		close(m.fence);

	memset(&info, 0, sizeof(info));
	info.flags = 1;
	out("flags: FILE_INFO flags 1 %s", call(a, SYNC_IOC_FILE_INFO, &info));
	info.flags = 0;
	info.pad = 1;
	out("flags: FILE_INFO pad 1 %s", call(a, SYNC_IOC_FILE_INFO, &info));
	info.pad = 0;
	info.status = 77;
	memset(info.name, 'q', sizeof(info.name));
	out("flags: FILE_INFO with status and name preset %s", call(a, SYNC_IOC_FILE_INFO, &info));
	out("flags: FILE_INFO overwrote them: status %d name %s", info.status, norm_name(info.name));
	info.num_fences = 1;
	info.sync_fence_info = (uintptr_t)fi;
	memset(fi, 0x55, sizeof(fi));
	info.flags = 1;
	out("flags: FILE_INFO flags 1 with entries %s, entry untouched %s", call(a, SYNC_IOC_FILE_INFO, &info),
	    yesno(((unsigned char *)fi)[0] == 0x55));

	sd.deadline_ns = 100;
	sd.pad = 1;
	out("flags: SET_DEADLINE pad 1 %s", call(a, SYNC_IOC_SET_DEADLINE, &sd));
	sd.pad = 1ull << 63;
	out("flags: SET_DEADLINE pad 1<<63 %s", call(a, SYNC_IOC_SET_DEADLINE, &sd));
	memset(&gd, 0, sizeof(gd));
	gd.fence_fd = a;
	out("flags: GET_DEADLINE after rejected SETs %s", call(tl, SW_SYNC_GET_DEADLINE, &gd));
	gd.pad = 1;
	out("flags: GET_DEADLINE pad 1 %s", call(tl, SW_SYNC_GET_DEADLINE, &gd));
	gd.pad = 0;
	gd.deadline_ns = 5;
	out("flags: GET_DEADLINE deadline_ns preset %s", call(tl, SW_SYNC_GET_DEADLINE, &gd));

	memset(&cf, 0xff, sizeof(cf));
	cf.value = 2;
	out("flags: CREATE_FENCE with name and fence bytes all 0xff %s", call(tl, SW_SYNC_IOC_CREATE_FENCE, &cf));
	if (cf.fence >= 0) {
		show_file("flags: that fence", cf.fence);
		close(cf.fence);
	}
	memset(&m, 0, sizeof(m));
	m.fd2 = b;
	memcpy(m.name, "\xff\x01 tab\there", 11);
	out("flags: MERGE name with control bytes %s", call(a, SYNC_IOC_MERGE, &m));
	show_file("flags: that merge", m.fence);
	close(m.fence);
	close(a);
	close(b);
	close(tl);
	close(tl2);
}

static void foreign_fds(void)
{
	int tl = open_timeline(), a = create_fence(tl, 1), p[2], efd, mfd, sock, dir, null, closed;
	struct sync_merge_data m;
	struct sync_file_info info;
	struct sw_sync_get_deadline gd;
	uint32_t one = 1;
	int fds[6];
	const char *names[6] = { "a pipe", "an eventfd", "a memfd", "a socket", "a directory", "/dev/null" };

	pipe(p);
	efd = eventfd(0, EFD_CLOEXEC);
	mfd = memfd_create("probe", MFD_CLOEXEC);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds[0] = p[0], fds[1] = efd, fds[2] = mfd, fds[3] = sock, fds[4] = dir, fds[5] = null;
	closed = next_fd();

	for (int i = 0; i < 6; i++) {
		memset(&info, 0, sizeof(info));
		out("foreign: FILE_INFO on %s %s", names[i], call(fds[i], SYNC_IOC_FILE_INFO, &info));
		out("foreign: INC on %s %s", names[i], call(fds[i], SW_SYNC_IOC_INC, &one));
		memset(&m, 0, sizeof(m));
		m.fd2 = fds[i];
		out("foreign: MERGE with %s %s", names[i], call(a, SYNC_IOC_MERGE, &m));
		memset(&gd, 0, sizeof(gd));
		gd.fence_fd = fds[i];
		out("foreign: GET_DEADLINE of %s %s", names[i], call(tl, SW_SYNC_GET_DEADLINE, &gd));
	}
	memset(&m, 0, sizeof(m));
	m.fd2 = tl;
	out("foreign: MERGE with a timeline %s", call(a, SYNC_IOC_MERGE, &m));
	memset(&gd, 0, sizeof(gd));
	gd.fence_fd = tl;
	out("foreign: GET_DEADLINE of a timeline %s", call(tl, SW_SYNC_GET_DEADLINE, &gd));
	{
		static const int bad[] = { -1, -100, 0x7fffffff };
		for (int i = 0; i < 3; i++) {
			memset(&m, 0, sizeof(m));
			m.fd2 = bad[i];
			out("foreign: MERGE with fd %d %s", bad[i], call(a, SYNC_IOC_MERGE, &m));
			memset(&gd, 0, sizeof(gd));
			gd.fence_fd = bad[i];
			out("foreign: GET_DEADLINE of fd %d %s", bad[i], call(tl, SW_SYNC_GET_DEADLINE, &gd));
			memset(&info, 0, sizeof(info));
			out("foreign: FILE_INFO on fd %d %s", bad[i], call(bad[i], SYNC_IOC_FILE_INFO, &info));
			out("foreign: INC on fd %d %s", bad[i], call(bad[i], SW_SYNC_IOC_INC, &one));
		}
	}
	/* A closed fd number. */
	memset(&m, 0, sizeof(m));
	m.fd2 = closed;
	out("closed: MERGE with a closed fd %s", call(a, SYNC_IOC_MERGE, &m));
	memset(&info, 0, sizeof(info));
	out("closed: FILE_INFO on a closed fd %s", call(closed, SYNC_IOC_FILE_INFO, &info));
	out("closed: INC on a closed fd %s", call(closed, SW_SYNC_IOC_INC, &one));
	/* Our fds once closed, and their numbers reused by foreign files. */
	{
		int t2 = open_timeline(), f2 = create_fence(t2, 1), n;
		close(f2);
		memset(&info, 0, sizeof(info));
		out("closed: FILE_INFO on a closed sync file %s", call(f2, SYNC_IOC_FILE_INFO, &info));
		memset(&m, 0, sizeof(m));
		m.fd2 = f2;
		out("closed: MERGE with a closed sync file %s", call(a, SYNC_IOC_MERGE, &m));
		close(t2);
		out("closed: INC on a closed timeline %s", call(t2, SW_SYNC_IOC_INC, &one));
		n = dup2(p[0], f2);
		memset(&info, 0, sizeof(info));
		out("closed: FILE_INFO on the number reused by a pipe %s", call(n, SYNC_IOC_FILE_INFO, &info));
		close(n);
		n = dup2(p[0], t2);
		out("closed: INC on the number reused by a pipe %s", call(n, SW_SYNC_IOC_INC, &one));
		close(n);
	}
	/* O_PATH descriptors of the device. */
	{
		int op = open(SW_SYNC, O_PATH | O_CLOEXEC);
		out("o_path: open %s", rc(op));
		out("o_path: INC %s", call(op, SW_SYNC_IOC_INC, &one));
		if (op >= 0)
			close(op);
	}
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	close(p[1]);
	close(a);
	close(tl);
}

static void pointers(void)
{
	int tl = open_timeline(), tl2 = open_timeline(), a = create_fence(tl, 1), b = create_fence(tl2, 1);
	void *dang = dangling(), *kernel = (void *)0xffff800000000000ull;
	struct sync_merge_data m;
	struct sync_file_info info;
	struct sw_sync_create_fence_data cf;
	struct sw_sync_get_deadline gd;
	struct sync_set_deadline sd = { 100, 0 };
	uint32_t one = 1;
	void *ptrs[3] = { NULL, dang, kernel };
	const char *pn[3] = { "NULL", "dangling", "kernel" };

	for (int i = 0; i < 3; i++) {
		out("pointer: CREATE_FENCE %s %s", pn[i], call(tl, SW_SYNC_IOC_CREATE_FENCE, ptrs[i]));
		out("pointer: INC %s %s", pn[i], call(tl, SW_SYNC_IOC_INC, ptrs[i]));
		out("pointer: GET_DEADLINE %s %s", pn[i], call(tl, SW_SYNC_GET_DEADLINE, ptrs[i]));
		out("pointer: MERGE %s %s", pn[i], call(a, SYNC_IOC_MERGE, ptrs[i]));
		out("pointer: FILE_INFO %s %s", pn[i], call(a, SYNC_IOC_FILE_INFO, ptrs[i]));
		out("pointer: SET_DEADLINE %s %s", pn[i], call(a, SYNC_IOC_SET_DEADLINE, ptrs[i]));
	}
	out("pointer: fence at 1 after the bad INCs: status %d", file_status(a));

	/* Arguments that end 4 bytes past a mapped page. */
	{
		struct sw_sync_create_fence_data *c = straddling(sizeof(*c), 4);
		uint32_t *u = straddling(sizeof(uint32_t), 2);
		struct sync_merge_data *mm = straddling(sizeof(*mm), 4);
		struct sync_file_info *fi = straddling(sizeof(*fi), 4);
		struct sw_sync_get_deadline *g = straddling(sizeof(*g), 4);
		struct sync_set_deadline *s = straddling(sizeof(*s), 4);
		memset(c, 0, sizeof(*c) - 4);
		c->value = 1;
		*(uint16_t *)u = 1;
		memset(mm, 0, sizeof(*mm) - 4);
		mm->fd2 = b;
		memset(fi, 0, sizeof(*fi) - 4);
		memset(g, 0, sizeof(*g) - 4);
		memset(s, 0, sizeof(*s) - 4);
		out("straddling: CREATE_FENCE %s", call(tl, SW_SYNC_IOC_CREATE_FENCE, c));
		out("straddling: INC %s", call(tl, SW_SYNC_IOC_INC, u));
		out("straddling: GET_DEADLINE %s", call(tl, SW_SYNC_GET_DEADLINE, g));
		out("straddling: MERGE %s", call(a, SYNC_IOC_MERGE, mm));
		out("straddling: FILE_INFO %s", call(a, SYNC_IOC_FILE_INFO, fi));
		out("straddling: SET_DEADLINE %s", call(a, SYNC_IOC_SET_DEADLINE, s));
	}

	/* Read-only arguments: the kernel reads them, then fails to write back. */
	memset(&cf, 0, sizeof(cf));
	cf.value = 5;
	out("read-only: CREATE_FENCE %s", call(tl, SW_SYNC_IOC_CREATE_FENCE, read_only(&cf, sizeof(cf))));
	memset(&m, 0, sizeof(m));
	m.fd2 = b;
	out("read-only: MERGE %s", call(a, SYNC_IOC_MERGE, read_only(&m, sizeof(m))));
	memset(&info, 0, sizeof(info));
	out("read-only: FILE_INFO %s", call(a, SYNC_IOC_FILE_INFO, read_only(&info, sizeof(info))));
	memset(&gd, 0, sizeof(gd));
	gd.fence_fd = a;
	out("read-only: GET_DEADLINE without a deadline %s", call(tl, SW_SYNC_GET_DEADLINE, read_only(&gd, sizeof(gd))));
	out("read-only: SET_DEADLINE %s", call(a, SYNC_IOC_SET_DEADLINE, read_only(&sd, sizeof(sd))));
	out("read-only: GET_DEADLINE with a deadline %s", call(tl, SW_SYNC_GET_DEADLINE, read_only(&gd, sizeof(gd))));
	out("read-only: INC %s", call(tl, SW_SYNC_IOC_INC, read_only(&one, sizeof(one))));
	out("read-only: fence at 1 after the read-only INC: status %d", file_status(a));

	/* The entries pointer of FILE_INFO. */
	{
		int mf = merge("ab", a, b);
		struct sync_fence_info *half = straddling(2 * sizeof(struct sync_fence_info), 8);
		memset(&info, 0, sizeof(info));
		info.num_fences = 2;
		info.sync_fence_info = 0;
		out("entries: NULL %s, num_fences after %u", call(mf, SYNC_IOC_FILE_INFO, &info), info.num_fences);
		info.num_fences = 2;
		info.sync_fence_info = (uintptr_t)dang;
		out("entries: dangling %s, num_fences after %u", call(mf, SYNC_IOC_FILE_INFO, &info), info.num_fences);
		info.num_fences = 2;
		info.sync_fence_info = (uintptr_t)half;
		out("entries: second entry half mapped %s, num_fences after %u", call(mf, SYNC_IOC_FILE_INFO, &info),
		    info.num_fences);
		info.num_fences = 2;
		info.sync_fence_info = (uintptr_t)read_only(fence_infos, 2 * sizeof(struct sync_fence_info));
		out("entries: read-only %s", call(mf, SYNC_IOC_FILE_INFO, &info));
		info.num_fences = 2;
		info.sync_fence_info = (uintptr_t)kernel;
		out("entries: kernel address %s", call(mf, SYNC_IOC_FILE_INFO, &info));
		info.num_fences = 0;
		info.sync_fence_info = (uintptr_t)dang;
		out("entries: dangling with num_fences 0 %s, num_fences after %u", call(mf, SYNC_IOC_FILE_INFO, &info),
		    info.num_fences);

		/* Huge counts. */
		info.num_fences = 0xffffffff;
		info.sync_fence_info = (uintptr_t)straddling(2 * sizeof(struct sync_fence_info), 0);
		out("huge: num_fences 0xffffffff, room for 2 %s, num_fences after %u", call(mf, SYNC_IOC_FILE_INFO, &info),
		    info.num_fences);
		info.num_fences = 0x80000000;
		info.sync_fence_info = (uintptr_t)NULL;
		out("huge: num_fences 0x80000000, NULL entries %s", call(mf, SYNC_IOC_FILE_INFO, &info));
		info.num_fences = 0xffffffff;
		info.sync_fence_info = (uintptr_t)straddling(sizeof(struct sync_fence_info), 0);
		out("huge: num_fences 0xffffffff, room for 1 %s", call(mf, SYNC_IOC_FILE_INFO, &info));
		close(mf);
	}
	/* Misaligned arguments are fine. */
	{
		char *raw = malloc(sizeof(struct sync_file_info) + 1);
		memset(raw, 0, sizeof(struct sync_file_info) + 1);
		out("misaligned: FILE_INFO %s", call(a, SYNC_IOC_FILE_INFO, raw + 1));
		free(raw);
	}
	{
		uint32_t big = 0xffffffff;
		int t3 = open_timeline(), f3 = create_fence(t3, 0xfffffffe);
		out("huge: INC 0xffffffff %s", call(t3, SW_SYNC_IOC_INC, &big));
		out("huge: fence at 0xfffffffe status %d", file_status(f3));
		out("huge: INC 0xffffffff again %s", call(t3, SW_SYNC_IOC_INC, &big));
		close(f3);
		close(t3);
	}
	close(a);
	close(b);
	close(tl);
	close(tl2);
}

/* Every fd number taken (RLIMIT_NOFILE lowered): each call that makes an
 * fd fails with EMFILE and leaves nothing behind; once one is free the
 * same calls succeed. */
static void fd_limit(void)
{
	struct rlimit old, low;
	int tl = open_timeline(), heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	int f = -1, g = -1, fd, i, spare[64], n = 0;
	struct sw_sync_create_fence_data d = { .value = 1 };
	struct sync_merge_data m = { 0 };
	struct dma_heap_allocation_data h = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d) == 0)
		f = d.fence;
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &low);
	while (n < 64 && (fd = dup(0)) >= 0)
		spare[n++] = fd;
	out("fd limit: dup %s", errname(errno));
	d.fence = -1;
	out("fd limit: CREATE_FENCE %s fence %d", call(tl, SW_SYNC_IOC_CREATE_FENCE, &d), d.fence);
	m.fd2 = f;
	m.fence = -1;
	out("fd limit: MERGE %s fence %d", call(f, SYNC_IOC_MERGE, &m), m.fence);
	h.fd = 0;
	out("fd limit: heap ALLOC %s", call(heap, DMA_HEAP_IOCTL_ALLOC, &h));
	fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	out("fd limit: open sw_sync %s", fd < 0 ? errname(errno) : "ok");
	fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	out("fd limit: open udmabuf %s", fd < 0 ? errname(errno) : "ok");
	close(spare[--n]);
	d.fence = -1;
	{
		const char *r = call(tl, SW_SYNC_IOC_CREATE_FENCE, &d);
		out("fd limit: one free: CREATE_FENCE %s fence-is-free-slot %s", r, d.fence == spare[n] ? "yes" : "no");
	}
	g = d.fence;
	fd = dup(0);
	out("fd limit: then dup %s", fd < 0 ? errname(errno) : "ok");
	for (i = 0; i < n; i++)
		close(spare[i]);
	if (fd >= 0)
		close(fd);
	setrlimit(RLIMIT_NOFILE, &old);
	close(g);
	close(f);
	close(heap);
	close(tl);
}

int main(void)
{
	probe_init();
	numbers();
	flags_and_pad();
	foreign_fds();
	pointers();
	fd_limit();
	out("end");
	return 0;
}
