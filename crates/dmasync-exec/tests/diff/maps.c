/* /proc/self/maps, /proc/self/smaps (each entry's header line) and
 * /proc/self/map_files links of dma-buf and DRM mappings: a system-heap
 * dma-buf (whole, at a page offset, private), a udmabuf, a vgem dumb buffer
 * through its PRIME dma-buf and through the DRM fd (MODE_MAP_DUMB offset),
 * renamed with SET_NAME; the mappings of a child after fork. Then seeks of
 * the seq_file texts of debugfs (sync/info, dri/vgem/...).
 *
 * A maps line is printed as its fields: permissions, offset (hex, or
 * relative to the MAP_DUMB offset), device and inode compared with fstat of
 * the fd that was mapped, and the path (and where it starts: the prefix is
 * padded to 72 columns). Addresses and numbers never appear; `maps raw`
 * prints the lines themselves too. */
#include "probe.h"
#include <sys/sysmacros.h>

static int raw;

/* The header line of the entry at `addr` in `file` (maps or smaps). */
static int header_of(const char *file, void *addr, char *line, size_t cap)
{
	char want[32];
	FILE *f = fopen(file, "re");
	int found = 0;
	if (!f)
		return 0;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, cap, f)) {
		if (!strncmp(line, want, strlen(want))) {
			found = 1;
			break;
		}
	}
	fclose(f);
	if (found)
		line[strcspn(line, "\n")] = 0;
	return found;
}

/* Prints the fields of the header line at `addr` in `file`. */
static void show_line(const char *k, const char *file, void *addr, int fd, uint64_t base)
{
	char line[512], perms[8], path[256] = "";
	unsigned long long start, end, off, ino;
	unsigned ma, mi;
	int n = 0;
	struct stat st;
	if (!header_of(file, addr, line, sizeof(line))) {
		out("%s: %s: no entry", k, file + 11);
		return;
	}
	if (raw)
		out("RAW %s: %s", k, line);
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &ma, &mi, &ino, &n) < 7) {
		out("%s: %s: unparsed", k, file + 11);
		return;
	}
	snprintf(path, sizeof(path), "%s", line + n);
	fstat(fd, &st);
	char offs[64];
	if (perms[3] == 'p')
		/* remap_pfn_range makes a private mapping's offset its pfn. */
		snprintf(offs, sizeof(offs), "(private)");
	else if (base && off >= base)
		snprintf(offs, sizeof(offs), "map_dumb+%llx", off - base);
	else
		snprintf(offs, sizeof(offs), "%llx", off);
	out("%s: %s: %s len=%llu off=%s dev %s ino %s path '%s' path column %s", k, file + 11, perms,
	    end - start, offs,
	    makedev(ma, mi) == st.st_dev ? "fstat's" : "other",
	    ino == st.st_ino ? "fstat's" : "other", path,
	    n == 73 ? "73" : n > 73 ? "after one space" : "short");
}

static void show_map_file(const char *k, void *addr, size_t len)
{
	char p[96], buf[256];
	ssize_t r;
	snprintf(p, sizeof(p), "/proc/self/map_files/%lx-%lx", (unsigned long)addr, (unsigned long)addr + len);
	r = readlink(p, buf, sizeof(buf) - 1);
	if (r < 0) {
		out("%s: map_files: %s", k, rc(-1));
		return;
	}
	buf[r] = 0;
	out("%s: map_files: '%s'", k, buf);
}

static void show(const char *k, void *addr, size_t len, int fd, uint64_t base)
{
	show_line(k, "/proc/self/maps", addr, fd, base);
	show_line(k, "/proc/self/smaps", addr, fd, base);
	show_map_file(k, addr, len);
}

static int heap_buf(int heap, size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
	return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
}

static void *map(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);
	return p == MAP_FAILED ? NULL : p;
}

static void seeks(const char *k, const char *path)
{
	char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		out("%s: open %s", k, rc(fd));
		return;
	}
	out("%s: SEEK_END 0 %s", k, rc(lseek(fd, 0, SEEK_END)));
	out("%s: SEEK_END -1 %s", k, rc(lseek(fd, -1, SEEK_END)));
	out("%s: SEEK_DATA 0 %s", k, rc(lseek(fd, 0, SEEK_DATA)));
	out("%s: SEEK_HOLE 0 %s", k, rc(lseek(fd, 0, SEEK_HOLE)));
	out("%s: SEEK_SET 3 %s", k, rc(lseek(fd, 3, SEEK_SET)));
	out("%s: SEEK_CUR 2 %s", k, rc(lseek(fd, 2, SEEK_CUR)));
	out("%s: SEEK_CUR -10 %s", k, rc(lseek(fd, -10, SEEK_CUR)));
	out("%s: SEEK_SET -1 %s", k, rc(lseek(fd, -1, SEEK_SET)));
	out("%s: SEEK_SET 0 %s", k, rc(lseek(fd, 0, SEEK_SET)));
	out("%s: read 1 %s", k, rc(read(fd, &c, 1)));
	out("%s: SEEK_CUR 0 %s", k, rc(lseek(fd, 0, SEEK_CUR)));
	out("%s: SEEK_SET 1000000 %s", k, rc(lseek(fd, 1000000, SEEK_SET)));
	out("%s: read past the end %s", k, rc(read(fd, &c, 1)));
	out("%s: SEEK_CUR 0 after %s", k, rc(lseek(fd, 0, SEEK_CUR)));
	close(fd);
}

int main(int argc, char **argv)
{
	int heap, udmabuf, card, hb, hb2, ub, vb, m;
	uint8_t *a, *b, *c, *d, *e, *f, *g;
	struct drm_mode_create_dumb cd = { .height = 2, .width = 1024, .bpp = 32 };
	struct drm_mode_map_dumb md = { 0 };
	struct drm_prime_handle ph = { .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
	struct udmabuf_create uc = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = 2 * PAGE };

	raw = argc > 1 && !strcmp(argv[1], "raw");
	probe_init();
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udmabuf = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	hb = heap_buf(heap, 4 * PAGE);
	hb2 = heap_buf(heap, 2 * PAGE);
	m = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ftruncate(m, 4 * PAGE);
	fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
	uc.memfd = m;
	uc.offset = PAGE;
	ub = ioctl(udmabuf, UDMABUF_CREATE, &uc);
	if (heap < 0 || udmabuf < 0 || card < 0 || hb < 0 || hb2 < 0 || ub < 0 ||
	    ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		out("FATAL setup");
		return 2;
	}

	a = map(hb, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	b = map(hb, 2 * PAGE, PROT_READ, MAP_SHARED, 2 * PAGE);
	c = map(hb2, PAGE, PROT_READ, MAP_PRIVATE, PAGE);
	out("heap: mapped %s %s %s", yesno(a != NULL), yesno(b != NULL), yesno(c != NULL));
	if (a)
		show("heap whole", a, 4 * PAGE, hb, 0);
	if (b)
		show("heap at 2 pages", b, 2 * PAGE, hb, 0);
	if (c)
		show("heap private at 1 page", c, PAGE, hb2, 0);

	d = map(ub, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	e = map(ub, PAGE, PROT_READ, MAP_SHARED, PAGE);
	out("udmabuf: mapped %s %s", yesno(d != NULL), yesno(e != NULL));
	if (d)
		show("udmabuf whole", d, 2 * PAGE, ub, 0);
	if (e)
		show("udmabuf at 1 page", e, PAGE, ub, 0);
	{
		uint8_t *mm = map(m, PAGE, PROT_READ, MAP_SHARED, PAGE);
		if (mm) {
			char line[512];
			header_of("/proc/self/maps", mm, line, sizeof(line));
			out("memfd itself: path is memfd %s", yesno(strstr(line, "/memfd:probe (deleted)") != NULL));
			munmap(mm, PAGE);
		}
	}

	md.handle = cd.handle;
	out("vgem: MAP_DUMB %s", rc(ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &md)));
	if (raw)
		out("RAW map_dumb offset %llx", (unsigned long long)md.offset);
	f = map(card, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, md.offset);
	out("vgem: DRM fd mapped %s", yesno(f != NULL));
	if (f)
		show("vgem through the DRM fd", f, cd.size, card, md.offset);
	ph.handle = cd.handle;
	out("vgem: PRIME export %s", rc(ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph)));
	vb = ph.fd;
	g = map(vb, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	out("vgem: PRIME fd mapped %s", yesno(g != NULL));
	if (g)
		show("vgem through PRIME", g, cd.size, vb, 0);
	if (f)
		show("vgem through the DRM fd after export", f, cd.size, card, md.offset);

	out("heap: SET_NAME %s", rc(ioctl(hb, DMA_BUF_SET_NAME_B, "probe-heap")));
	out("udmabuf: SET_NAME %s", rc(ioctl(ub, DMA_BUF_SET_NAME_B, "probe-udmabuf")));
	out("vgem: SET_NAME %s", rc(ioctl(vb, DMA_BUF_SET_NAME_B, "probe-vgem")));
	if (a)
		show("heap whole named", a, 4 * PAGE, hb, 0);
	if (d)
		show("udmabuf whole named", d, 2 * PAGE, ub, 0);
	if (g)
		show("vgem through PRIME named", g, cd.size, vb, 0);
	if (f)
		show("vgem through the DRM fd named", f, cd.size, card, md.offset);

	/* The fds closed: the mappings stay, and say the same. */
	close(hb);
	close(vb);
	if (a) {
		int again = heap_buf(heap, PAGE);
		show("heap whole after close", a, 4 * PAGE, again, 0);
		close(again);
	}
	{
		pid_t pid = fork();
		if (pid == 0) {
			char line[512];
			int same = a && header_of("/proc/self/maps", a, line, sizeof(line)) && strstr(line, "/dmabuf:probe-heap");
			int dsame = f && header_of("/proc/self/maps", f, line, sizeof(line)) && strstr(line, "/dev/dri/card0");
			out("child: heap line names the buffer %s, DRM line names the node %s", yesno(same), yesno(dsame));
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	if (a)
		munmap(a, 4 * PAGE);
	if (a) {
		char line[512];
		out("heap whole after munmap: entry %s", yesno(header_of("/proc/self/maps", a, line, sizeof(line))));
	}

	seeks("sync/info", "/sys/kernel/debug/sync/info");
	seeks("dri/vgem/name", "/sys/kernel/debug/dri/vgem/name");
	seeks("dri/vgem/clients", "/sys/kernel/debug/dri/vgem/clients");
	seeks("dri/vgem/gem_names", "/sys/kernel/debug/dri/vgem/gem_names");
	return 0;
}
