/* sw_sync timelines and sync files: the "sw_sync timelines and their
 * fences" and "sync_file" sections of kernel-behaviour.md. Golden output:
 * golden/sync.txt. crates/dmasync-probe prints the same lines through
 * rustix. */
#include "probe.h"

static int create_named(int tl, uint32_t value, const char *name)
{
	struct sw_sync_create_fence_data d;
	memset(&d, 0, sizeof(d));
	d.value = value;
	snprintf(d.name, sizeof(d.name), "%s", name);
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -errno;
	return d.fence;
}

static uint64_t fence_ts(int fd, int i)
{
	struct sync_file_info info = file_info(fd);
	return info.num_fences > (uint32_t)i ? fence_infos[i].timestamp_ns : 0;
}

static const char *get_deadline(int tl, int fence)
{
	static char buf[4][32];
	static int slot;
	struct sw_sync_get_deadline g;
	memset(&g, 0, sizeof(g));
	g.fence_fd = fence;
	if (ioctl(tl, SW_SYNC_GET_DEADLINE, &g))
		return errname(errno);
	slot = (slot + 1) % 4;
	snprintf(buf[slot], 32, "%llu", (unsigned long long)g.deadline_ns);
	return buf[slot];
}

static const char *set_deadline(int fd, uint64_t ns)
{
	struct sync_set_deadline s = { .deadline_ns = ns };
	return rc(ioctl(fd, SYNC_IOC_SET_DEADLINE, &s));
}

static void timelines(void)
{
	int tl = open_timeline(), tl2, f0, f1, f2, g;
	uint64_t before, after, t;

	f1 = create_fence(tl, 1);
	show_file("fence at 1", f1);
	out("fence at 1: poll IN|OUT %s", poll_now(f1, POLLIN | POLLOUT, 0));
	f2 = create_named(tl, 2, "ignored");
	show_file("fence at 2 named 'ignored'", f2);

	before = now_ns();
	f0 = create_fence(tl, 0);
	after = now_ns();
	show_file("fence at 0 (born signalled)", f0);
	t = fence_ts(f0, 0);
	out("fence at 0: ts in creation window %s", yesno(t >= before && t <= after));

	before = now_ns();
	out("INC 1: %s", rc(inc(tl, 1)));
	after = now_ns();
	show_file("fence at 1 after INC 1", f1);
	t = fence_ts(f1, 0);
	out("fence at 1: ts in INC window %s", yesno(t >= before && t <= after));
	out("fence at 1: poll IN|OUT %s", poll_now(f1, POLLIN | POLLOUT, 0));
	out("fence at 1: poll OUT %s", poll_now(f1, POLLOUT, 0));
	out("fence at 1: poll IN %s", poll_now(f1, POLLIN, 0));
	out("fence at 2: status %d", file_status(f2));
	out("INC 0: %s", rc(inc(tl, 0)));
	out("fence at 2 after INC 0: status %d", file_status(f2));
	g = create_fence(tl, 1);
	out("new fence at 1 (current value): status %d", file_status(g));
	close(g);

	tl2 = open_timeline();
	g = create_fence(tl2, 1);
	show_file("second timeline, fence at 1", g);
	close(g);
	g = create_fence(tl, 3);
	show_file("first timeline, fence at 3", g);
	close(g);
	close(tl2);
	close(f0);
	close(f1);
	close(f2);
	close(tl);
}

static void big_values(void)
{
	static const uint32_t values[] = { 5, 0x7fffffff, 0x80000000, 0x80000003, 0xfffffff0 };
	int tl = open_timeline(), f[5], g;

	for (int i = 0; i < 5; i++) {
		f[i] = create_fence(tl, values[i]);
		out("big: fence at %#x on a fresh timeline: status %d", values[i], file_status(f[i]));
	}
	out("big: INC 0x80000001: %s", rc(inc(tl, 0x80000001)));
	for (int i = 0; i < 5; i++)
		out("big: fence at %#x after INC 0x80000001: status %d", values[i], file_status(f[i]));
	out("big: INC 0x7ffffff0: %s", rc(inc(tl, 0x7ffffff0)));
	for (int i = 0; i < 5; i++)
		out("big: fence at %#x after INC 0x7ffffff0: status %d", values[i], file_status(f[i]));
	g = create_fence(tl, 0xfffffff5);
	out("big: new fence at 0xfffffff5: status %d", file_status(g));
	close(g);
	g = create_fence(tl, 2);
	out("big: new fence at 2: status %d", file_status(g));
	close(g);
	for (int i = 0; i < 5; i++)
		close(f[i]);
	close(tl);

	tl = open_timeline();
	f[0] = create_fence(tl, 0xfffffffe);
	f[1] = create_fence(tl, 3);
	out("big: INC 0xffffffff: %s", rc(inc(tl, 0xffffffff)));
	out("big: fence at 0xfffffffe after INC 0xffffffff: status %d", file_status(f[0]));
	out("big: fence at 3 after INC 0xffffffff: status %d", file_status(f[1]));
	g = create_fence(tl, 0xffffffff);
	out("big: new fence at 0xffffffff: status %d", file_status(g));
	close(g);
	close(f[0]);
	close(f[1]);
	close(tl);
}

static void closing(void)
{
	int tl = open_timeline(), g = create_fence(tl, 10), h = create_fence(tl, 0);
	out("close: pending fence status before %d", file_status(g));
	out("close: close timeline %s", rc(close(tl)));
	/* The fence signals as the timeline is released: wait for it. */
	out("close: poll IN (blocking) %s", poll_now(g, POLLIN, -1));
	show_file("close: pending fence after close", g);
	show_file("close: signalled fence after close", h);
	close(g);
	close(h);
}

static void deadlines(void)
{
	int tl = open_timeline(), tl2 = open_timeline(), d = create_fence(tl, 1), e, o, m;

	out("deadline: GET with none set %s", get_deadline(tl, d));
	out("deadline: SET 2000 %s", set_deadline(d, 2000));
	out("deadline: GET %s", get_deadline(tl, d));
	out("deadline: SET 3000 %s", set_deadline(d, 3000));
	out("deadline: GET after later deadline %s", get_deadline(tl, d));
	out("deadline: SET 1000 %s", set_deadline(d, 1000));
	out("deadline: GET after earlier deadline %s", get_deadline(tl, d));
	out("deadline: GET through another timeline %s", get_deadline(tl2, d));
	e = create_fence(tl, 0);
	out("deadline: SET on a signalled fence %s", set_deadline(e, 500));
	out("deadline: GET of a signalled fence %s", get_deadline(tl, e));
	o = create_fence(tl2, 1);
	m = merge("pair", d, o);
	out("deadline: SET 700 on a merge %s", set_deadline(m, 700));
	out("deadline: GET of the merge %s", get_deadline(tl, m));
	out("deadline: GET of its first fence %s", get_deadline(tl, d));
	out("deadline: GET of its second fence %s", get_deadline(tl2, o));
	out("deadline: SET 0 %s", set_deadline(o, 0));
	out("deadline: GET after SET 0 %s", get_deadline(tl2, o));
	inc(tl, 1);
	out("deadline: GET after the fence signalled %s", get_deadline(tl, d));
	close(m);
	close(o);
	close(e);
	close(d);
	close(tl2);
	close(tl);
}

static void info_counts(void)
{
	int a = open_timeline(), b = open_timeline(), fa = create_fence(a, 1), fb = create_fence(b, 1);
	int m = merge("ab", fa, fb);
	struct sync_file_info info;
	struct sync_fence_info fi[5];

	memset(fi, 0xaa, sizeof(fi));
	memset(&info, 0, sizeof(info));
	info.sync_fence_info = (uintptr_t)fi;
	out("info: num_fences 0: %s", rc(ioctl(m, SYNC_IOC_FILE_INFO, &info)));
	out("info: num_fences 0: name=%s status=%d num_fences=%u entries untouched %s", norm_name(info.name),
	    info.status, info.num_fences, yesno(((unsigned char *)fi)[0] == 0xaa));
	info.num_fences = 1;
	out("info: num_fences 1 of 2: %s", rc(ioctl(m, SYNC_IOC_FILE_INFO, &info)));
	out("info: num_fences after failure %u", info.num_fences);
	info.num_fences = 5;
	out("info: num_fences 5 of 2: %s", rc(ioctl(m, SYNC_IOC_FILE_INFO, &info)));
	out("info: num_fences rewritten to %u, entry 2 untouched %s", info.num_fences,
	    yesno(((unsigned char *)&fi[2])[0] == 0xaa));
	show_file("info: both pending", m);
	inc(a, 1);
	show_file("info: first signalled", m);
	inc(b, 1);
	show_file("info: both signalled", m);
	close(m);

	/* The second timeline signals first this time. */
	fa = create_fence(a, 2);
	fb = create_fence(b, 2);
	m = merge("ab2", fa, fb);
	inc(b, 1);
	show_file("info: second signalled", m);
	close(m);
	close(fa);
	close(fb);
	close(a);
	close(b);
}

static void merges(void)
{
	int tl = open_timeline(), tl2 = open_timeline(), tl3 = open_timeline();
	int p3 = create_fence(tl, 3), p5 = create_fence(tl, 5), q = create_fence(tl2, 1), r = create_fence(tl3, 1);
	int m, m2, s1, s2;
	struct sync_merge_data md;
	uint64_t t1, t2;

	memset(&md, 0, sizeof(md));
	memset(md.name, 'x', sizeof(md.name));
	md.fd2 = q;
	out("merge: unterminated name %s", rc(ioctl(p3, SYNC_IOC_MERGE, &md)));
	{
		struct sync_file_info info = file_info(md.fence);
		out("merge: unterminated name gives %s (length %zu)", norm_name(info.name), strnlen(info.name, 32));
	}
	close(md.fence);

	m = merge("3+5", p3, p5);
	show_file("merge: points 3 and 5 of one timeline", m);
	close(m);
	m = merge("5+3", p5, p3);
	show_file("merge: points 5 and 3 of one timeline", m);
	close(m);
	m = merge("self", q, q);
	show_file("merge: a file with itself", m);
	m2 = merge("", q, r);
	show_file("merge: unnamed, two timelines", m2);
	close(m);
	m = merge("pair-self", m2, m2);
	out("merge: a pair with itself: num_fences %u", file_count(m));
	close(m);
	m = merge("three", m2, p5);
	show_file("merge: three timelines", m);
	close(m);
	close(m2);
	m = merge("", p3, p5);
	show_file("merge: unnamed, one timeline", m);
	close(m);

	/* pending + signalled */
	s1 = create_fence(tl3, 0);
	m = merge("pending+signalled", q, s1);
	show_file("merge: pending and signalled", m);
	close(m);
	m = merge("signalled+pending", s1, q);
	show_file("merge: signalled and pending", m);
	close(m);

	/* two signalled: a stub with the newest timestamp */
	inc(tl2, 1);
	inc(tl3, 1);
	t1 = fence_ts(q, 0);
	t2 = fence_ts(r, 0);
	m = merge("signalled+signalled", q, r);
	show_file("merge: two signalled", m);
	out("merge: two signalled: ts is the newest input's %s", yesno(fence_ts(m, 0) == (t1 > t2 ? t1 : t2)));
	close(m);
	m = merge("", r, q);
	show_file("merge: two signalled, unnamed", m);
	close(m);
	s2 = create_fence(tl2, 0);
	m = merge("same-signalled", s2, s2);
	show_file("merge: a signalled file with itself", m);
	close(m);
	close(s1);
	close(s2);

	/* errored + pending: the error is dropped */
	{
		int te = open_timeline(), e = create_fence(te, 1), pend = create_fence(tl, 10);
		close(te);
		poll_now(e, POLLIN, -1);
		out("merge: errored input status %d", file_status(e));
		m = merge("errored+pending", e, pend);
		show_file("merge: errored and pending", m);
		inc(tl, 10);
		show_file("merge: errored and pending, after the pending one signals", m);
		close(m);
		m = merge("errored+signalled", e, pend);
		show_file("merge: errored and signalled", m);
		close(m);
		close(e);
		close(pend);
	}
	close(p3);
	close(p5);
	close(q);
	close(r);
	close(tl);
	close(tl2);
	close(tl3);
}

static void sixty_four(void)
{
	int tl[64], acc = -1;

	for (int i = 0; i < 64; i++) {
		int f;
		tl[i] = open_timeline();
		f = create_fence(tl[i], 1);
		if (acc < 0) {
			acc = f;
		} else {
			int m = merge("64", acc, f);
			close(acc);
			close(f);
			acc = m;
		}
	}
	out("64: num_fences %u status %d", file_count(acc), file_status(acc));
	for (int i = 0; i < 63; i++)
		inc(tl[i], 1);
	out("64: after 63 signal: num_fences %u status %d", file_count(acc), file_status(acc));
	out("64: poll IN %s", poll_now(acc, POLLIN, 0));
	inc(tl[63], 1);
	out("64: after 64 signal: num_fences %u status %d", file_count(acc), file_status(acc));
	out("64: poll IN %s", poll_now(acc, POLLIN, 0));
	close(acc);
	for (int i = 0; i < 64; i++)
		close(tl[i]);
}

int main(void)
{
	probe_init();
	timelines();
	big_values();
	closing();
	deadlines();
	info_counts();
	merges();
	sixty_four();
	out("end");
	return 0;
}
