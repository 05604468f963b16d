/* What /proc says about the fds of every kind: the target of the
 * /proc/<pid>/fd/N links (readlink, readlinkat, through self, thread-self,
 * the pid and the task, bufsiz and bad buffers) and /proc/<pid>/fdinfo/N
 * (the generic lines and the dma-buf's size, count, exp_name and name).
 * Golden: golden/procfd.txt. */
#include "resv.h"

/* A string printed escaped, with its length. */
static const char *shown(const char *s, long len)
{
	static char buf[4][256];
	static int slot;
	char *o = buf[slot = (slot + 1) % 4];
	size_t k = 0;
	for (long i = 0; i < len && k + 5 < sizeof(buf[0]); i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			o[k++] = c;
		else
			k += snprintf(o + k, sizeof(buf[0]) - k, "\\x%02x", c);
	}
	o[k] = 0;
	return o;
}

/* readlink (dirfd -1) or readlinkat of `path` into a fresh buffer of 256
 * bytes: "<string>" and its length, or the errno's name. Bytes past the
 * returned length must be untouched. */
static const char *link_of(int dirfd, const char *path, size_t bufsiz)
{
	static char res[4][300];
	static int slot;
	char buf[256], *o = res[slot = (slot + 1) % 4];
	long r;
	memset(buf, '#', sizeof(buf));
	r = dirfd == -1 ? readlink(path, buf, bufsiz) : readlinkat(dirfd, path, buf, bufsiz);
	if (r < 0)
		return errname(errno);
	snprintf(o, 300, "\"%s\" len %ld%s", shown(buf, r), r,
		 r < (long)sizeof(buf) && buf[r] != '#' ? " (wrote past it)" : "");
	return o;
}

/* Every path form naming `fd` of this process; each must give what the
 * first one gives. */
static void links(const char *k, int fd)
{
	char p[128], want[300];
	int dir;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "%s", link_of(-1, p, 256));
	out("%s: readlink %s", k, want);
	snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", fd);
	out("%s: thread-self same %s", k, yesno(!strcmp(link_of(-1, p, 256), want)));
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", getpid(), fd);
	out("%s: pid same %s", k, yesno(!strcmp(link_of(-1, p, 256), want)));
	snprintf(p, sizeof(p), "/proc/%d/task/%d/fd/%d", getpid(), (int)syscall(SYS_gettid), fd);
	out("%s: task same %s", k, yesno(!strcmp(link_of(-1, p, 256), want)));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	out("%s: readlinkat AT_FDCWD same %s", k, yesno(!strcmp(link_of(AT_FDCWD, p, 256), want)));
	dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%d", fd);
	out("%s: readlinkat of /proc/self/fd same %s", k, yesno(!strcmp(link_of(dir, p, 256), want)));
	close(dir);
	dir = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "fd/%d", fd);
	out("%s: readlinkat of /proc/self, fd/N same %s", k, yesno(!strcmp(link_of(dir, p, 256), want)));
	close(dir);
	/* Short buffers: truncated, no NUL. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	out("%s: bufsiz 1 %s", k, link_of(-1, p, 1));
	out("%s: bufsiz 5 %s", k, link_of(-1, p, 5));
	out("%s: bufsiz 0 %s", k, link_of(-1, p, 0));
	out("%s: bufsiz -1 %s", k, rc(syscall(SYS_readlink, p, (char[8]){ 0 }, -1)));
	{
		/* A huge bufsiz with a small buffer: only the string is written. */
		char small[64];
		long r = syscall(SYS_readlink, p, small, 1L << 30);
		out("%s: bufsiz 1<<30 %s", k, r < 0 ? errname(errno) : shown(small, r));
	}
	out("%s: readlinkat NULL buffer %s", k, rc(syscall(SYS_readlinkat, AT_FDCWD, p, NULL, 64)));
	out("%s: readlinkat bufsiz 0 %s", k, rc(syscall(SYS_readlinkat, AT_FDCWD, p, (char[8]){ 0 }, 0)));
	out("%s: NULL buffer %s", k, rc(syscall(SYS_readlink, p, NULL, 64)));
	out("%s: dangling buffer %s", k, rc(syscall(SYS_readlink, p, dangling(), 64)));
	out("%s: read-only buffer %s", k, rc(syscall(SYS_readlink, p, read_only("", 1), 64)));
	out("%s: buffer ending 4 bytes in %s", k, rc(syscall(SYS_readlink, p, straddling(64, 60), 64)));
}

/* The fdinfo lines of `path`, run-dependent values replaced. */
static void fdinfo_at(const char *k, int dirfd, const char *path, int fd)
{
	char line[256];
	struct stat st;
	int f = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	FILE *fp;
	if (f < 0) {
		out("%s: fdinfo %s", k, errname(errno));
		return;
	}
	fp = fdopen(f, "r");
	fstat(fd, &st);
	while (fgets(line, sizeof(line), fp)) {
		char *v = strchr(line, ':');
		line[strcspn(line, "\n")] = 0;
		if (!v) {
			out("%s: fdinfo %s", k, shown(line, strlen(line)));
			continue;
		}
		*v++ = 0;
		while (*v == '\t' || *v == ' ')
			v++;
		if (!strcmp(line, "ino"))
			out("%s: fdinfo ino: fstat's %s", k, yesno(strtoull(v, NULL, 10) == st.st_ino));
		else if (!strcmp(line, "mnt_id") || !strcmp(line, "drm-client-id"))
			out("%s: fdinfo %s: <n>", k, line);
		else
			out("%s: fdinfo %s: %s", k, line, shown(v, strlen(v)));
	}
	fclose(fp);
}

static void fdinfo(const char *k, int fd)
{
	char p[128];
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	fdinfo_at(k, AT_FDCWD, p, fd);
}

/* The fdinfo path forms: each must print what /proc/self/fdinfo prints. */
static void fdinfo_forms(const char *k, int fd)
{
	char p[128];
	int dir;
	snprintf(p, sizeof(p), "/proc/thread-self/fdinfo/%d", fd);
	fdinfo_at(k, AT_FDCWD, p, fd);
	snprintf(p, sizeof(p), "/proc/%d/task/%d/fdinfo/%d", getpid(), (int)syscall(SYS_gettid), fd);
	fdinfo_at(k, AT_FDCWD, p, fd);
	dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%d", fd);
	fdinfo_at(k, dir, p, fd);
	close(dir);
	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	out("%s: fdinfo O_WRONLY %s", k, rc(open(p, O_WRONLY | O_CLOEXEC)));
	out("%s: fdinfo O_DIRECTORY %s", k, rc(open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
	out("%s: fdinfo of a closed fd %s", k, rc(open("/proc/self/fdinfo/999", O_RDONLY | O_CLOEXEC)));
}

static int heap_buf(int heap)
{
	struct dma_heap_allocation_data d = { .len = 4 * PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
	return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
}

static int udma_buf(int udmabuf)
{
	int m = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC), fd;
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = 2 * PAGE };
	ftruncate(m, 2 * PAGE);
	fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK);
	c.memfd = m;
	fd = ioctl(udmabuf, UDMABUF_CREATE, &c);
	if (fd < 0)
		fd = -errno;
	close(m);
	return fd;
}

static int vgem_buf(int card, uint32_t flags)
{
	struct drm_mode_create_dumb d = { .height = 2, .width = 1024, .bpp = 32 };
	struct drm_prime_handle p = { .flags = flags, .fd = -1 };
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d))
		return -errno;
	p.handle = d.handle;
	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -errno;
	return p.fd;
}

int main(void)
{
	int heap, udmabuf, card, render, tl, sf, hb, ub, vb, d;
	char p[64];

	probe_init();
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udmabuf = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	render = open("/dev/dri/renderD128", O_RDWR);
	tl = open_timeline();
	sf = create_fence(tl, 1);
	hb = heap_buf(heap);
	ub = udma_buf(udmabuf);
	vb = vgem_buf(card, DRM_CLOEXEC | DRM_RDWR);
	if (heap < 0 || udmabuf < 0 || card < 0 || render < 0 || sf < 0 || hb < 0 || ub < 0 || vb < 0) {
		out("FATAL setup");
		return 2;
	}

	links("heap device", heap);
	links("udmabuf device", udmabuf);
	links("card0", card);
	links("renderD128", render);
	links("timeline", tl);
	links("sync file", sf);
	links("heap", hb);
	links("udmabuf", ub);
	links("vgem", vb);

	/* A named dma-buf. */
	out("heap: SET_NAME %s", rc(ioctl(hb, DMA_BUF_SET_NAME_B, "probe-name")));
	out("heap: named: readlink %s", link_of(-1, (snprintf(p, sizeof(p), "/proc/self/fd/%d", hb), p), 256));
	out("heap: named: bufsiz 10 %s", link_of(-1, p, 10));
	out("vgem: SET_NAME empty %s", rc(ioctl(vb, DMA_BUF_SET_NAME_B, "")));
	out("vgem: named empty: readlink %s",
	    link_of(-1, (snprintf(p, sizeof(p), "/proc/self/fd/%d", vb), p), 256));
	out("udmabuf: SET_NAME 31 bytes %s", rc(ioctl(ub, DMA_BUF_SET_NAME_B, "0123456789abcdef0123456789abcde")));
	out("udmabuf: named: readlink %s",
	    link_of(-1, (snprintf(p, sizeof(p), "/proc/self/fd/%d", ub), p), 256));

	/* Not open, not a number. */
	out("readlink of a closed fd %s", link_of(-1, "/proc/self/fd/999", 256));
	out("readlink of a closed fd, bufsiz 0 %s", link_of(-1, "/proc/self/fd/999", 0));
	out("readlink of fd/x %s", link_of(-1, "/proc/self/fd/x", 256));

	fdinfo("heap device", heap);
	fdinfo("udmabuf device", udmabuf);
	fdinfo("card0", card);
	fdinfo("renderD128", render);
	fdinfo("timeline", tl);
	fdinfo("sync file", sf);
	fdinfo("heap", hb);
	fdinfo("udmabuf", ub);
	fdinfo("vgem", vb);
	fdinfo_forms("heap", hb);

	/* pos after lseek, and what count counts. */
	lseek(hb, 0, SEEK_END);
	fdinfo("heap: after lseek SEEK_END", hb);
	d = dup(hb);
	fdinfo("heap: dup", hb);
	{
		void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, hb, 0);
		void *m2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, hb, PAGE);
		fdinfo("heap: dup and 2 mappings", hb);
		close(d);
		fdinfo("heap: 2 mappings", hb);
		munmap(m, PAGE);
		munmap(m2, PAGE);
	}
	fdinfo("heap: alone", hb);
	fcntl(hb, F_SETFL, O_NONBLOCK);
	fcntl(hb, F_SETFD, 0);
	fdinfo("heap: O_NONBLOCK, not cloexec", hb);
	{
		int a = vgem_buf(card, DRM_RDWR), b;
		fdinfo("vgem: not cloexec", a);
		b = dup(a);
		fdinfo("vgem: dup", a);
		close(b);
		{
			void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, a, 0);
			out("vgem: mmap %s", m == MAP_FAILED ? errname(errno) : "ok");
			fdinfo("vgem: a mapping", a);
			if (m != MAP_FAILED)
				munmap(m, PAGE);
		}
		close(a);
	}
	{
		int s2 = create_fence(tl, 2), m = merge("merged", sf, s2);
		fdinfo("sync file: merged", m);
		inc(tl, 2);
		fdinfo("sync file: signalled", m);
		out("sync file: signalled: readlink %s",
		    link_of(-1, (snprintf(p, sizeof(p), "/proc/self/fd/%d", m), p), 256));
		close(m);
		close(s2);
	}
	/* A forked child's fds, read by the parent. */
	{
		int pipefd[2];
		pid_t pid;
		char c;
		pipe(pipefd);
		pid = fork();
		if (pid == 0) {
			int mine = heap_buf(heap);
			close(pipefd[0]);
			write(pipefd[1], &mine, sizeof(mine));
			pause();
			_exit(0);
		}
		close(pipefd[1]);
		if (read(pipefd[0], &d, sizeof(d)) == sizeof(d)) {
			snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, d);
			out("child's heap buffer: readlink %s", link_of(-1, p, 256));
			snprintf(p, sizeof(p), "/proc/%d/fdinfo/%d", pid, d);
			{
				int f = open(p, O_RDONLY | O_CLOEXEC);
				char text[512];
				long n = f < 0 ? -1 : read(f, text, sizeof(text) - 1);
				out("child's heap buffer: fdinfo %s, has count: 1 %s", rc(f),
				    yesno(n > 0 && (text[n] = 0, strstr(text, "\ncount:\t1\n") != NULL)));
				close(f);
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		(void)c;
		close(pipefd[0]);
	}
	close(hb);
	close(ub);
	close(vb);
	close(sf);
	close(tl);
	out("end");
	return 0;
}
