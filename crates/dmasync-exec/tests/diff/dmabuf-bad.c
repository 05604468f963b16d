/* Bad inputs to the dma-buf, dma-heap, udmabuf and vgem ioctls: wrong
 * numbers and sizes, fds that are not ours or are closed, null, dangling,
 * read-only and half-mapped argument pointers, huge counts. Each failed
 * call also says whether it left an fd behind. Golden: golden/dmabuf-bad.txt. */
#include "resv.h"

static int heap_fd, udmabuf_fd, card;

static const char *call(int fd, unsigned long cmd, void *arg)
{
	static char buf[8][48];
	static int slot;
	int before = next_fd(), r = ioctl(fd, cmd, arg), e = errno, after = next_fd();
	slot = (slot + 1) % 8;
	snprintf(buf[slot], 48, "%s%s", r >= 0 ? "ok" : errname(e),
		 before != after && r < 0 ? " (fd left behind)" : "");
	/* Results that are fds (UDMABUF_CREATE) are closed by the caller. */
	return buf[slot];
}

/* The lowest free fd number moved: something was created and kept. */
static int fds_used(int before)
{
	return next_fd() != before;
}

static int heap_buf(void)
{
	struct dma_heap_allocation_data d = { .len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
	return ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
}

static int sealed_memfd(void)
{
	int m = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ftruncate(m, 4 * PAGE);
	fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
	return m;
}

static void numbers(int buf)
{
	char arg[256];
	memset(arg, 0, sizeof(arg));
	((struct dma_buf_export_sync_file *)arg)->flags = DMA_BUF_SYNC_READ;
	out("number: EXPORT size 4 %s", call(buf, _IOWR('b', 2, uint32_t), arg));
	out("number: EXPORT size 16 %s", call(buf, _IOWR('b', 2, char[16]), arg));
	out("number: EXPORT as _IOR %s", call(buf, _IOR('b', 2, struct dma_buf_export_sync_file), arg));
	out("number: IMPORT as _IOWR %s", call(buf, _IOWR('b', 3, struct dma_buf_import_sync_file), arg));
	out("number: IMPORT size 16 %s", call(buf, _IOW('b', 3, char[16]), arg));
	out("number: SYNC size 4 %s", call(buf, _IOW('b', 0, uint32_t), arg));
	out("number: SYNC as _IOWR %s", call(buf, _IOWR('b', 0, struct dma_buf_sync), arg));
	strcpy(arg, "nm");
	out("number: SET_NAME size 2 %s", call(buf, _IOW('b', 1, uint16_t), arg));
	out("number: SET_NAME size 16 %s", call(buf, _IOW('b', 1, char[16]), arg));
	out("number: SET_NAME as _IO %s", call(buf, _IO('b', 1), arg));
	memset(arg, 0, sizeof(arg));
	out("number: UDMABUF_CREATE size 16 %s", call(udmabuf_fd, _IOW('u', 0x42, char[16]), arg));
	out("number: UDMABUF_CREATE as _IOWR %s", call(udmabuf_fd, _IOWR('u', 0x42, struct udmabuf_create), arg));
	out("number: 'u' 0x44 %s", call(udmabuf_fd, _IOW('u', 0x44, struct udmabuf_create), arg));
	out("number: EXPORT on the udmabuf device %s", call(udmabuf_fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, arg));
	out("number: UDMABUF_CREATE on the heap device %s", call(heap_fd, UDMABUF_CREATE, arg));
	out("number: UDMABUF_CREATE on a dma-buf %s", call(buf, UDMABUF_CREATE, arg));
	/* DMA_HEAP_IOCTL_ALLOC: the size in the number may differ */
	{
		struct dma_heap_allocation_data d = { .len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
		int before = next_fd(), kept;
		const char *r;
		d.fd = 0;
		r = call(heap_fd, _IOWR('H', 0, uint64_t), &d);
		kept = fds_used(before);
		out("number: ALLOC size 8 (len only) %s, an fd was installed %s, fd written back %s", r, yesno(kept),
		    yesno(d.fd != 0));
		if (kept)
			close(before);
		memset(arg, 0, sizeof(arg));
		((struct dma_heap_allocation_data *)arg)->len = PAGE;
		((struct dma_heap_allocation_data *)arg)->fd_flags = O_RDWR | O_CLOEXEC;
		out("number: ALLOC size 40 %s", call(heap_fd, _IOWR('H', 0, char[40]), arg));
		if (((struct dma_heap_allocation_data *)arg)->fd)
			close(((struct dma_heap_allocation_data *)arg)->fd);
		memset(arg, 0, sizeof(arg));
		((struct dma_heap_allocation_data *)arg)->len = PAGE;
		((struct dma_heap_allocation_data *)arg)->fd_flags = O_RDWR | O_CLOEXEC;
		arg[30] = 1;
		out("number: ALLOC size 40 with byte 30 set %s", call(heap_fd, _IOWR('H', 0, char[40]), arg));
		if (((struct dma_heap_allocation_data *)arg)->fd)
			close(((struct dma_heap_allocation_data *)arg)->fd);
		out("number: ALLOC as _IOW %s", call(heap_fd, _IOW('H', 0, struct dma_heap_allocation_data), &d));
		out("number: ALLOC as _IO %s", call(heap_fd, _IO('H', 0), &d));
		out("number: 'H' 1 %s", call(heap_fd, _IOWR('H', 1, struct dma_heap_allocation_data), &d));
		out("number: ALLOC on the udmabuf device %s", call(udmabuf_fd, DMA_HEAP_IOCTL_ALLOC, &d));
	}
	/* DRM: smaller and larger sizes of the same number */
	{
		struct vgem_fence_signal s = { .fence = 999 };
		out("number: VGEM_FENCE_SIGNAL size 4 %s", call(card, _IOW('d', 0x42, uint32_t), &s));
		out("number: 'd' 0x4f (no such vgem ioctl) %s", call(card, _IOWR('d', 0x4f, uint64_t), arg));
		out("number: DRM ioctl on a dma-buf %s", call(buf, DRM_IOCTL_VERSION, arg));
		out("number: DRM ioctl on the heap device %s", call(heap_fd, DRM_IOCTL_VERSION, arg));
	}
}

static void fds(int buf)
{
	int p[2], tl = open_timeline(), closed, before;
	struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_READ };
	struct udmabuf_create c = { .size = PAGE };
	struct dma_heap_allocation_data d = { .len = PAGE, .fd_flags = O_RDWR };

	pipe(p);
	out("fd: EXPORT on a pipe %s", call(p[0], DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	out("fd: EXPORT on a timeline %s", call(tl, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	closed = next_fd();
	out("fd: EXPORT on a closed fd %s", call(closed, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	out("fd: EXPORT on fd -1 %s", call(-1, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
	out("fd: ALLOC on a closed fd %s", call(closed, DMA_HEAP_IOCTL_ALLOC, &d));
	c.memfd = closed;
	out("fd: UDMABUF_CREATE of a closed memfd %s", call(udmabuf_fd, UDMABUF_CREATE, &c));
	c.memfd = buf;
	out("fd: UDMABUF_CREATE of a dma-buf %s", call(udmabuf_fd, UDMABUF_CREATE, &c));
	c.memfd = tl;
	out("fd: UDMABUF_CREATE of a timeline %s", call(udmabuf_fd, UDMABUF_CREATE, &c));
	{
		int m = sealed_memfd(), u;
		c.memfd = m;
		u = ioctl(udmabuf_fd, UDMABUF_CREATE, &c);
		close(m);
		out("fd: a udmabuf outlives its memfd: poll %s", u >= 0 ? poll_now(u, POLLIN | POLLOUT, 0) : errname(errno));
		if (u >= 0) {
			c.memfd = u;
			out("fd: UDMABUF_CREATE of a udmabuf %s", call(udmabuf_fd, UDMABUF_CREATE, &c));
			close(u);
		}
	}
	/* a closed dma-buf, its number reused by a pipe */
	{
		int b = heap_buf(), n;
		close(b);
		out("fd: EXPORT on a closed dma-buf %s", call(b, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
		n = dup2(p[0], b);
		out("fd: EXPORT on its number reused by a pipe %s", call(n, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e));
		close(n);
	}
	/* device opened O_PATH */
	before = open("/dev/dma_heap/system", O_PATH | O_CLOEXEC);
	out("fd: open heap O_PATH %s", rc(before));
	out("fd: ALLOC on an O_PATH heap fd %s", call(before, DMA_HEAP_IOCTL_ALLOC, &d));
	if (before >= 0)
		close(before);
	close(p[0]);
	close(p[1]);
	close(tl);
}

static void pointers(int buf)
{
	void *dang = dangling(), *kernel = (void *)0xffff800000000000ull;
	void *ptrs[3] = { NULL, dang, kernel };
	const char *pn[3] = { "NULL", "dangling", "kernel" };

	for (int i = 0; i < 3; i++) {
		out("pointer: EXPORT %s %s", pn[i], call(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, ptrs[i]));
		out("pointer: IMPORT %s %s", pn[i], call(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, ptrs[i]));
		out("pointer: SYNC %s %s", pn[i], call(buf, DMA_BUF_IOCTL_SYNC, ptrs[i]));
		out("pointer: SET_NAME %s %s", pn[i], call(buf, DMA_BUF_SET_NAME_B, ptrs[i]));
		out("pointer: ALLOC %s %s", pn[i], call(heap_fd, DMA_HEAP_IOCTL_ALLOC, ptrs[i]));
		out("pointer: UDMABUF_CREATE %s %s", pn[i], call(udmabuf_fd, UDMABUF_CREATE, ptrs[i]));
		out("pointer: UDMABUF_CREATE_LIST %s %s", pn[i], call(udmabuf_fd, UDMABUF_CREATE_LIST, ptrs[i]));
		out("pointer: VGEM_FENCE_ATTACH %s %s", pn[i], call(card, DRM_IOCTL_VGEM_FENCE_ATTACH, ptrs[i]));
		out("pointer: VGEM_FENCE_SIGNAL %s %s", pn[i], call(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, ptrs[i]));
		out("pointer: CREATE_DUMB %s %s", pn[i], call(card, DRM_IOCTL_MODE_CREATE_DUMB, ptrs[i]));
		out("pointer: PRIME_HANDLE_TO_FD %s %s", pn[i], call(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, ptrs[i]));
	}
	/* half-mapped arguments */
	{
		struct dma_buf_export_sync_file *e = straddling(sizeof(*e), 4);
		struct dma_buf_import_sync_file *im = straddling(sizeof(*im), 4);
		struct dma_heap_allocation_data *d = straddling(sizeof(*d), 8);
		struct udmabuf_create *c = straddling(sizeof(*c), 8);
		char *name = straddling(8, 0);
		e->flags = DMA_BUF_SYNC_READ;
		im->flags = DMA_BUF_SYNC_READ;
		memset(d, 0, sizeof(*d) - 8);
		d->len = PAGE;
		d->fd_flags = O_RDWR;
		memset(c, 0, sizeof(*c) - 8);
		memcpy(name, "unending", 8);
		out("straddling: EXPORT %s", call(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, e));
		out("straddling: IMPORT %s", call(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, im));
		out("straddling: ALLOC %s", call(heap_fd, DMA_HEAP_IOCTL_ALLOC, d));
		out("straddling: UDMABUF_CREATE %s", call(udmabuf_fd, UDMABUF_CREATE, c));
		out("straddling: SET_NAME without a NUL before the unmapped page %s", call(buf, DMA_BUF_SET_NAME_B, name));
	}
	/* read-only arguments: the kernel reads them, then cannot write back */
	{
		struct dma_buf_export_sync_file e = { .flags = DMA_BUF_SYNC_READ };
		struct dma_heap_allocation_data d = { .len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
		struct drm_mode_create_dumb cd = { .height = 1, .width = 1024, .bpp = 32 };
		struct dma_buf_sync sy = { DMA_BUF_SYNC_READ };
		int m = sealed_memfd(), r;
		struct udmabuf_create c = { .memfd = m, .size = PAGE };
		out("read-only: EXPORT %s", call(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, read_only(&e, sizeof(e))));
		out("read-only: ALLOC %s", call(heap_fd, DMA_HEAP_IOCTL_ALLOC, read_only(&d, sizeof(d))));
		out("read-only: CREATE_DUMB %s", call(card, DRM_IOCTL_MODE_CREATE_DUMB, read_only(&cd, sizeof(cd))));
		out("read-only: SYNC %s", call(buf, DMA_BUF_IOCTL_SYNC, read_only(&sy, sizeof(sy))));
		r = ioctl(udmabuf_fd, UDMABUF_CREATE, read_only(&c, sizeof(c)));
		out("read-only: UDMABUF_CREATE (input only) %s", rc(r));
		if (r >= 0)
			close(r);
		close(m);
	}
	/* CREATE_LIST: the items pointer and huge counts */
	{
		int m = sealed_memfd(), r;
		struct udmabuf_create_list *l = straddling(sizeof(*l) + sizeof(struct udmabuf_create_item), 8);
		memset(l, 0, sizeof(*l) + sizeof(struct udmabuf_create_item) - 8);
		l->count = 1;
		l->list[0].memfd = m;
		out("huge: CREATE_LIST of 1, item half mapped %s", call(udmabuf_fd, UDMABUF_CREATE_LIST, l));
		{
			struct { struct udmabuf_create_list h; struct udmabuf_create_item it[1]; } s;
			memset(&s, 0, sizeof(s));
			s.h.count = 0xffffffff;
			s.it[0] = (struct udmabuf_create_item){ .memfd = m, .size = PAGE };
			out("huge: CREATE_LIST count 0xffffffff %s", call(udmabuf_fd, UDMABUF_CREATE_LIST, &s));
			s.h.count = 1024;
			out("huge: CREATE_LIST count 1024, 1 item mapped %s", call(udmabuf_fd, UDMABUF_CREATE_LIST, &s));
			s.h.count = 1;
			s.it[0].size = 1ull << 40;
			out("huge: CREATE_LIST item of 2^40 bytes %s", call(udmabuf_fd, UDMABUF_CREATE_LIST, &s));
			s.h.count = 1;
			s.it[0].size = PAGE;
			s.h.flags = 0xfe;
			r = ioctl(udmabuf_fd, UDMABUF_CREATE_LIST, &s);
			out("huge: CREATE_LIST unknown flags %s", rc(r));
			if (r >= 0)
				close(r);
		}
		close(m);
	}
	{
		struct drm_mode_create_dumb cd = { .height = 0xffffffff, .width = 0xffffffff, .bpp = 32 };
		out("huge: CREATE_DUMB 0xffffffff x 0xffffffff %s", call(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd));
		cd = (struct drm_mode_create_dumb){ .height = 1, .width = 1, .bpp = 0 };
		out("huge: CREATE_DUMB bpp 0 %s", call(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd));
		cd = (struct drm_mode_create_dumb){ .height = 0, .width = 16, .bpp = 32 };
		out("huge: CREATE_DUMB height 0 %s", call(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd));
	}
	{
		/* A merged sync file of 64 fences imported into one buffer. */
		int tl[64], acc = -1, b2 = heap_buf();
		for (int i = 0; i < 64; i++) {
			int f;
			tl[i] = open_timeline();
			f = create_fence(tl[i], 1);
			if (acc < 0) {
				acc = f;
			} else {
				int m2 = merge("64", acc, f);
				close(acc);
				close(f);
				acc = m2;
			}
		}
		out("huge: IMPORT of 64 fences %s", import_sf(b2, DMA_BUF_SYNC_WRITE, acc));
		out("huge: EXPORT READ count %d", export_count(b2, DMA_BUF_SYNC_READ));
		for (int i = 0; i < 64; i++)
			close(tl[i]);
		out("huge: all 64 timelines closed: poll IN|OUT (blocking) %s", poll_now(b2, POLLIN | POLLOUT, -1));
		close(acc);
		close(b2);
	}
}

int main(void)
{
	int buf;
	probe_init();
	heap_fd = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udmabuf_fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	out("open heap %s, udmabuf %s, card0 %s", heap_fd >= 0 ? "ok" : errname(errno),
	    udmabuf_fd >= 0 ? "ok" : "failed", card >= 0 ? "ok" : "failed");
	if (heap_fd < 0 || udmabuf_fd < 0 || card < 0)
		return 2;
	buf = heap_buf();
	numbers(buf);
	fds(buf);
	pointers(buf);
	close(buf);
	out("end");
	return 0;
}
