/* dma-bufs of the system heap and of udmabuf: their creation rules and the
 * implicit synchronisation of the "dma-buf" section of kernel-behaviour.md
 * (resv.h), run once per exporter. Golden: golden/dmabuf.txt. */
#include "resv.h"

#define HEAP "/dev/dma_heap/system"
#define UDMABUF "/dev/udmabuf"

static int heap_fd = -1, udmabuf_fd = -1;

/* ALLOC: the dma-buf, or -errno. */
static int heap_alloc(uint64_t len, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = fd_flags, .heap_flags = heap_flags };
	if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d))
		return -errno;
	return d.fd;
}

static int new_heap_buf(void)
{
	int fd = heap_alloc(4 * PAGE, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		out("FATAL heap ALLOC %s", errname(-fd));
		exit(2);
	}
	return fd;
}

static int sealed_memfd(size_t size, unsigned seals)
{
	int m = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ftruncate(m, size);
	if (seals)
		fcntl(m, F_ADD_SEALS, seals);
	return m;
}

/* UDMABUF_CREATE: the dma-buf, or -errno. */
static int udmabuf_create(int memfd, uint32_t flags, uint64_t offset, uint64_t size)
{
	struct udmabuf_create c = { .memfd = memfd, .flags = flags, .offset = offset, .size = size };
	int r = ioctl(udmabuf_fd, UDMABUF_CREATE, &c);
	return r < 0 ? -errno : r;
}

static int new_udmabuf(void)
{
	int m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK), fd = udmabuf_create(m, UDMABUF_FLAGS_CLOEXEC, 0, 4 * PAGE);
	close(m);
	if (fd < 0) {
		out("FATAL UDMABUF_CREATE %s", errname(-fd));
		exit(2);
	}
	return fd;
}

static const char *res(int fd)
{
	if (fd < 0)
		return errname(-fd);
	close(fd);
	return "ok";
}

static const char *size_of(int fd)
{
	static char buf[4][32];
	static int slot;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return errname(errno);
	lseek(fd, 0, SEEK_SET);
	slot = (slot + 1) % 4;
	snprintf(buf[slot], 32, "%lld", (long long)end);
	return buf[slot];
}

static int create_list(struct udmabuf_create_list *l)
{
	int r = ioctl(udmabuf_fd, UDMABUF_CREATE_LIST, l);
	return r < 0 ? -errno : r;
}

static void heap_rules(void)
{
	int fd;
	out("heap: ALLOC 4 pages %s", res(heap_alloc(4 * PAGE, O_RDWR | O_CLOEXEC, 0)));
	out("heap: ALLOC len 0 %s", res(heap_alloc(0, O_RDWR | O_CLOEXEC, 0)));
	fd = heap_alloc(1, O_RDWR | O_CLOEXEC, 0);
	out("heap: ALLOC len 1: size %s", fd >= 0 ? size_of(fd) : errname(-fd));
	if (fd >= 0)
		close(fd);
	fd = heap_alloc(PAGE + 1, O_RDWR, 0);
	out("heap: ALLOC len PAGE+1: size %s", fd >= 0 ? size_of(fd) : errname(-fd));
	if (fd >= 0) {
		out("heap: without O_CLOEXEC: FD_CLOEXEC %s", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
		out("heap: access mode %d", fcntl(fd, F_GETFL) & O_ACCMODE);
		close(fd);
	}
	fd = heap_alloc(PAGE, O_RDONLY | O_CLOEXEC, 0);
	if (fd >= 0) {
		out("heap: O_RDONLY|O_CLOEXEC: FD_CLOEXEC %s, access mode %d", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC),
		    fcntl(fd, F_GETFL) & O_ACCMODE);
		out("heap: O_RDONLY buffer: mmap PROT_WRITE shared %s",
		    mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? errname(errno) : "ok");
		close(fd);
	} else {
		out("heap: O_RDONLY|O_CLOEXEC %s", errname(-fd));
	}
	out("heap: ALLOC fd_flags O_NONBLOCK %s", res(heap_alloc(PAGE, O_RDWR | O_NONBLOCK, 0)));
	out("heap: ALLOC fd_flags O_APPEND %s", res(heap_alloc(PAGE, O_RDWR | O_APPEND, 0)));
	out("heap: ALLOC heap_flags 1 %s", res(heap_alloc(PAGE, O_RDWR, 1)));
	out("heap: ALLOC heap_flags 1<<63 %s", res(heap_alloc(PAGE, O_RDWR, 1ull << 63)));
	{
		struct dma_heap_allocation_data d = { .len = PAGE, .fd = 5, .fd_flags = O_RDWR };
		out("heap: ALLOC with fd preset %s", rc(ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d)));
		if (d.fd != 5)
			close(d.fd);
	}
	/* Lengths that round up to 0 (larger ones would exhaust the memory:
	 * the system heap does not check them). */
	out("heap: ALLOC len 2^64-1 %s", res(heap_alloc(~0ull, O_RDWR, 0)));
	out("heap: ALLOC len 2^64-100 %s", res(heap_alloc(~0ull - 99, O_RDWR, 0)));
	fd = new_heap_buf();
	show_fdinfo("heap", fd);
	close(fd);
}

static void udmabuf_rules(void)
{
	int m, fd, p[2];

	m = sealed_memfd(4 * PAGE, 0);
	out("udmabuf: memfd without seals %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK);
	out("udmabuf: F_SEAL_SHRINK %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_GROW);
	out("udmabuf: F_SEAL_SHRINK|F_SEAL_GROW %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_SEAL);
	out("udmabuf: F_SEAL_SHRINK|F_SEAL_SEAL %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_WRITE);
	out("udmabuf: F_SEAL_SHRINK|F_SEAL_WRITE %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE);
	out("udmabuf: F_SEAL_SHRINK|F_SEAL_FUTURE_WRITE %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);
	m = sealed_memfd(4 * PAGE, F_SEAL_GROW);
	out("udmabuf: F_SEAL_GROW only %s", res(udmabuf_create(m, 0, 0, 4 * PAGE)));
	close(m);

	m = sealed_memfd(4 * PAGE, F_SEAL_SHRINK);
	out("udmabuf: size not page-aligned %s", res(udmabuf_create(m, 0, 0, PAGE + 1)));
	out("udmabuf: offset not page-aligned %s", res(udmabuf_create(m, 0, 1, PAGE)));
	out("udmabuf: size 0 %s", res(udmabuf_create(m, 0, 0, 0)));
	fd = udmabuf_create(m, 0, PAGE, 2 * PAGE);
	out("udmabuf: sub-range (1 page in, 2 pages): size %s", fd >= 0 ? size_of(fd) : errname(-fd));
	if (fd >= 0) {
		out("udmabuf: without UDMABUF_FLAGS_CLOEXEC: FD_CLOEXEC %s", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC));
		out("udmabuf: access mode %d", fcntl(fd, F_GETFL) & O_ACCMODE);
		close(fd);
	}
	fd = udmabuf_create(m, UDMABUF_FLAGS_CLOEXEC, 0, PAGE);
	out("udmabuf: with UDMABUF_FLAGS_CLOEXEC: FD_CLOEXEC %s", fd >= 0 ? yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC) : errname(-fd));
	if (fd >= 0)
		close(fd);
	out("udmabuf: range past the end %s", res(udmabuf_create(m, 0, 2 * PAGE, 4 * PAGE)));
	out("udmabuf: offset past the end %s", res(udmabuf_create(m, 0, 8 * PAGE, PAGE)));
	out("udmabuf: huge size %s", res(udmabuf_create(m, 0, 0, 1ull << 62)));
	out("udmabuf: offset+size wrapping %s", res(udmabuf_create(m, 0, ~0ull - PAGE + 1, 2 * PAGE)));
	out("udmabuf: unknown flag bits %s", res(udmabuf_create(m, 0xfe, 0, PAGE)));
	/* Data written through the memfd shows through the dma-buf. */
	fd = udmabuf_create(m, UDMABUF_FLAGS_CLOEXEC, 0, PAGE);
	if (fd >= 0) {
		char *p1, byte = 0;
		pwrite(m, "Z", 1, 7);
		p1 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
		if (p1 != MAP_FAILED) {
			byte = p1[7];
			munmap(p1, PAGE);
		}
		out("udmabuf: memfd write seen through the dma-buf %s", yesno(byte == 'Z'));
		show_fdinfo("udmabuf", fd);
		close(fd);
	}
	close(m);

	pipe(p);
	out("udmabuf: a pipe as the memfd %s", res(udmabuf_create(p[0], 0, 0, PAGE)));
	close(p[0]);
	close(p[1]);
	/* A shmem file that is no memfd: tmpfs (/dev/shm, else /tmp, which is
	 * tmpfs in the oracle). */
	m = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (m < 0)
		m = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ftruncate(m, 4 * PAGE);
	out("udmabuf: a tmp file that is not a memfd %s", res(udmabuf_create(m, 0, 0, PAGE)));
	close(m);
	out("udmabuf: the heap fd as the memfd %s", res(udmabuf_create(heap_fd, 0, 0, PAGE)));
	out("udmabuf: fd -1 as the memfd %s", res(udmabuf_create(-1, 0, 0, PAGE)));

	/* CREATE_LIST */
	{
		struct { struct udmabuf_create_list h; struct udmabuf_create_item it[2]; } l;
		int m2 = sealed_memfd(4 * PAGE, F_SEAL_SHRINK);
		memset(&l, 0, sizeof(l));
		l.h.flags = UDMABUF_FLAGS_CLOEXEC;
		l.h.count = 2;
		l.it[0] = (struct udmabuf_create_item){ .memfd = m2, .offset = 0, .size = PAGE };
		l.it[1] = (struct udmabuf_create_item){ .memfd = m2, .offset = 2 * PAGE, .size = 2 * PAGE };
		fd = ioctl(udmabuf_fd, UDMABUF_CREATE_LIST, &l);
		out("udmabuf: CREATE_LIST of 2: size %s", fd >= 0 ? size_of(fd) : errname(errno));
		if (fd >= 0)
			close(fd);
		l.h.count = 0;
		out("udmabuf: CREATE_LIST count 0 %s", res(create_list(&l.h)));
		l.h.count = 1025;
		out("udmabuf: CREATE_LIST count 1025 %s", res(create_list(&l.h)));
		l.h.count = 2;
		l.it[1].pad = 1;
		fd = ioctl(udmabuf_fd, UDMABUF_CREATE_LIST, &l);
		out("udmabuf: CREATE_LIST item pad 1 %s", fd >= 0 ? "ok" : errname(errno));
		if (fd >= 0)
			close(fd);
		l.it[1].pad = 0;
		l.it[1].offset = 3 * PAGE;
		out("udmabuf: CREATE_LIST item past the end %s", res(create_list(&l.h)));
		close(m2);
	}
}

int main(void)
{
	probe_init();
	heap_fd = open(HEAP, O_RDONLY | O_CLOEXEC);
	out("open " HEAP " %s", rc(heap_fd));
	udmabuf_fd = open(UDMABUF, O_RDWR | O_CLOEXEC);
	out("open " UDMABUF " %s", rc(udmabuf_fd));
	if (heap_fd < 0 || udmabuf_fd < 0)
		return 2;
	heap_rules();
	udmabuf_rules();
	resv_suite("heap", new_heap_buf);
	resv_suite("udmabuf", new_udmabuf);
	out("end");
	return 0;
}
