/*
 * Prints the layouts, ioctl numbers and constants of the installed kernel
 * UAPI headers, one item per line, for tests/uapi_layout.rs to compare with
 * dmasync::uapi:
 *
 *   struct <c name> <sizeof>
 *   field <struct> <field> <offsetof> <sizeof>
 *   ioctl <NAME> <value>
 *   const <NAME> <value>
 *   absent-struct|absent-ioctl|absent-const <name>   older header: not there
 *   absent <struct> <field>                           older header: field not there
 *   grown <struct> <field> <offsetof>                 newer header: field past 6.12's
 *   missing-family <family>                           header not installed
 *   own <what>                                        definitions written here, not a header's
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/magic.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <linux/dma-heap.h>

#if __has_include(<drm/drm.h>)
#include <drm/drm.h>
#include <drm/drm_mode.h>
#define HAVE_DRM 1
#elif __has_include(<libdrm/drm.h>)
#include <libdrm/drm.h>
#include <libdrm/drm_mode.h>
#define HAVE_DRM 1
#endif

#if defined(HAVE_DRM) && __has_include(<drm/vgem_drm.h>)
#include <drm/vgem_drm.h>
#elif defined(HAVE_DRM)
/* vgem_drm.h is not installed: the layout from kernel-spec.md's errata. */
#define OWN_VGEM 1
#define DRM_VGEM_FENCE_ATTACH 0x1
#define DRM_VGEM_FENCE_SIGNAL 0x2
#define VGEM_FENCE_WRITE 0x1
struct drm_vgem_fence_attach { __u32 handle; __u32 flags; __u32 out_fence; __u32 pad; };
struct drm_vgem_fence_signal { __u32 fence; __u32 flags; };
#define DRM_IOCTL_VGEM_FENCE_ATTACH \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VGEM_FENCE_ATTACH, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL \
	DRM_IOW(DRM_COMMAND_BASE + DRM_VGEM_FENCE_SIGNAL, struct drm_vgem_fence_signal)
#endif

/* sw_sync's definitions are private to the kernel: the layout from kernel-spec.md §8.4. */
#define SW_SYNC_IOC_MAGIC 'W'
struct sw_sync_create_fence_data { __u32 value; char name[32]; __s32 fence; };
struct sw_sync_get_deadline { __u64 deadline_ns; __u32 pad; __s32 fence_fd; };
#define SW_SYNC_IOC_CREATE_FENCE _IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW(SW_SYNC_IOC_MAGIC, 1, __u32)
#define SW_SYNC_GET_DEADLINE _IOWR(SW_SYNC_IOC_MAGIC, 2, struct sw_sync_get_deadline)

#define S(T) printf("struct %s %zu\n", #T, sizeof(struct T))
#define F(T, f) printf("field %s %s %zu %zu\n", #T, #f, offsetof(struct T, f), \
		       sizeof(((struct T *)0)->f))
#define I(N) printf("ioctl %s %lu\n", #N, (unsigned long)(N))
#define C(N) printf("const %s %lld\n", #N, (long long)(N))

int main(void)
{
	/* dma-buf */
	S(dma_buf_sync); F(dma_buf_sync, flags);
	S(dma_buf_export_sync_file); F(dma_buf_export_sync_file, flags);
	F(dma_buf_export_sync_file, fd);
	S(dma_buf_import_sync_file); F(dma_buf_import_sync_file, flags);
	F(dma_buf_import_sync_file, fd);
	I(DMA_BUF_IOCTL_SYNC); I(DMA_BUF_SET_NAME); I(DMA_BUF_SET_NAME_A);
	I(DMA_BUF_SET_NAME_B); I(DMA_BUF_IOCTL_EXPORT_SYNC_FILE);
	I(DMA_BUF_IOCTL_IMPORT_SYNC_FILE);
	C(DMA_BUF_BASE); C(DMA_BUF_SYNC_READ); C(DMA_BUF_SYNC_WRITE); C(DMA_BUF_SYNC_RW);
	C(DMA_BUF_SYNC_START); C(DMA_BUF_SYNC_END); C(DMA_BUF_SYNC_VALID_FLAGS_MASK);
	C(DMA_BUF_NAME_LEN); C(DMA_BUF_MAGIC);

	/* sync_file */
	S(sync_merge_data); F(sync_merge_data, name); F(sync_merge_data, fd2);
	F(sync_merge_data, fence); F(sync_merge_data, flags); F(sync_merge_data, pad);
	S(sync_fence_info); F(sync_fence_info, obj_name); F(sync_fence_info, driver_name);
	F(sync_fence_info, status); F(sync_fence_info, flags); F(sync_fence_info, timestamp_ns);
	S(sync_file_info); F(sync_file_info, name); F(sync_file_info, status);
	F(sync_file_info, flags); F(sync_file_info, num_fences); F(sync_file_info, pad);
	F(sync_file_info, sync_fence_info);
	I(SYNC_IOC_MERGE); I(SYNC_IOC_FILE_INFO);
#ifdef SYNC_IOC_SET_DEADLINE
	S(sync_set_deadline); F(sync_set_deadline, deadline_ns); F(sync_set_deadline, pad);
	I(SYNC_IOC_SET_DEADLINE);
#else
	puts("absent-struct sync_set_deadline");
	puts("absent-ioctl SYNC_IOC_SET_DEADLINE");
#endif
	C(SYNC_IOC_MAGIC);

	/* sw_sync */
	puts("own sw_sync");
	S(sw_sync_create_fence_data); F(sw_sync_create_fence_data, value);
	F(sw_sync_create_fence_data, name); F(sw_sync_create_fence_data, fence);
	S(sw_sync_get_deadline); F(sw_sync_get_deadline, deadline_ns);
	F(sw_sync_get_deadline, pad); F(sw_sync_get_deadline, fence_fd);
	I(SW_SYNC_IOC_CREATE_FENCE); I(SW_SYNC_IOC_INC); I(SW_SYNC_GET_DEADLINE);
	C(SW_SYNC_IOC_MAGIC);

	/* udmabuf */
	S(udmabuf_create); F(udmabuf_create, memfd); F(udmabuf_create, flags);
	F(udmabuf_create, offset); F(udmabuf_create, size);
	S(udmabuf_create_item); F(udmabuf_create_item, memfd); F(udmabuf_create_item, __pad);
	F(udmabuf_create_item, offset); F(udmabuf_create_item, size);
	S(udmabuf_create_list); F(udmabuf_create_list, flags); F(udmabuf_create_list, count);
	I(UDMABUF_CREATE); I(UDMABUF_CREATE_LIST);
	C(UDMABUF_FLAGS_CLOEXEC);

	/* dma-heap */
	S(dma_heap_allocation_data); F(dma_heap_allocation_data, len);
	F(dma_heap_allocation_data, fd); F(dma_heap_allocation_data, fd_flags);
	F(dma_heap_allocation_data, heap_flags);
	I(DMA_HEAP_IOCTL_ALLOC);
	C(DMA_HEAP_IOC_MAGIC); C(DMA_HEAP_VALID_FD_FLAGS); C(DMA_HEAP_VALID_HEAP_FLAGS);

#ifdef HAVE_DRM
	S(drm_version); F(drm_version, version_major); F(drm_version, version_minor);
	F(drm_version, version_patchlevel); F(drm_version, name_len); F(drm_version, name);
	F(drm_version, date_len); F(drm_version, date); F(drm_version, desc_len);
	F(drm_version, desc);
	S(drm_get_cap); F(drm_get_cap, capability); F(drm_get_cap, value);
	S(drm_unique); F(drm_unique, unique_len); F(drm_unique, unique);
	S(drm_auth); F(drm_auth, magic);
	S(drm_client); F(drm_client, idx); F(drm_client, auth); F(drm_client, pid);
	F(drm_client, uid); F(drm_client, magic); F(drm_client, iocs);
	S(drm_set_version); F(drm_set_version, drm_di_major); F(drm_set_version, drm_di_minor);
	F(drm_set_version, drm_dd_major); F(drm_set_version, drm_dd_minor);
	S(drm_gem_flink); F(drm_gem_flink, handle); F(drm_gem_flink, name);
	S(drm_gem_open); F(drm_gem_open, name); F(drm_gem_open, handle); F(drm_gem_open, size);
	S(drm_gem_close); F(drm_gem_close, handle); F(drm_gem_close, pad);
	S(drm_prime_handle); F(drm_prime_handle, handle); F(drm_prime_handle, flags);
	F(drm_prime_handle, fd);
	S(drm_mode_create_dumb); F(drm_mode_create_dumb, height); F(drm_mode_create_dumb, width);
	F(drm_mode_create_dumb, bpp); F(drm_mode_create_dumb, flags);
	F(drm_mode_create_dumb, handle); F(drm_mode_create_dumb, pitch);
	F(drm_mode_create_dumb, size);
	S(drm_mode_map_dumb); F(drm_mode_map_dumb, handle); F(drm_mode_map_dumb, pad);
	F(drm_mode_map_dumb, offset);
	S(drm_mode_destroy_dumb); F(drm_mode_destroy_dumb, handle);
	S(drm_syncobj_create); F(drm_syncobj_create, handle); F(drm_syncobj_create, flags);
	S(drm_syncobj_destroy); F(drm_syncobj_destroy, handle); F(drm_syncobj_destroy, pad);
	S(drm_syncobj_handle); F(drm_syncobj_handle, handle); F(drm_syncobj_handle, flags);
	F(drm_syncobj_handle, fd); F(drm_syncobj_handle, pad);
#ifdef DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE
	printf("grown drm_syncobj_handle point %zu\n", offsetof(struct drm_syncobj_handle, point));
#endif
	S(drm_syncobj_transfer); F(drm_syncobj_transfer, src_handle);
	F(drm_syncobj_transfer, dst_handle); F(drm_syncobj_transfer, src_point);
	F(drm_syncobj_transfer, dst_point); F(drm_syncobj_transfer, flags);
	F(drm_syncobj_transfer, pad);
	S(drm_syncobj_wait); F(drm_syncobj_wait, handles); F(drm_syncobj_wait, timeout_nsec);
	F(drm_syncobj_wait, count_handles); F(drm_syncobj_wait, flags);
	F(drm_syncobj_wait, first_signaled); F(drm_syncobj_wait, pad);
	S(drm_syncobj_timeline_wait); F(drm_syncobj_timeline_wait, handles);
	F(drm_syncobj_timeline_wait, points); F(drm_syncobj_timeline_wait, timeout_nsec);
	F(drm_syncobj_timeline_wait, count_handles); F(drm_syncobj_timeline_wait, flags);
	F(drm_syncobj_timeline_wait, first_signaled); F(drm_syncobj_timeline_wait, pad);
#ifdef DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE
	F(drm_syncobj_wait, deadline_nsec); F(drm_syncobj_timeline_wait, deadline_nsec);
	C(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE);
#else
	puts("absent drm_syncobj_wait deadline_nsec");
	puts("absent drm_syncobj_timeline_wait deadline_nsec");
	puts("absent-const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE");
#endif
#ifdef DRM_IOCTL_SYNCOBJ_EVENTFD
	S(drm_syncobj_eventfd); F(drm_syncobj_eventfd, handle); F(drm_syncobj_eventfd, flags);
	F(drm_syncobj_eventfd, point); F(drm_syncobj_eventfd, fd); F(drm_syncobj_eventfd, pad);
	I(DRM_IOCTL_SYNCOBJ_EVENTFD);
#else
	puts("absent-struct drm_syncobj_eventfd");
	puts("absent-ioctl DRM_IOCTL_SYNCOBJ_EVENTFD");
#endif
	S(drm_syncobj_array); F(drm_syncobj_array, handles); F(drm_syncobj_array, count_handles);
	F(drm_syncobj_array, pad);
	S(drm_syncobj_timeline_array); F(drm_syncobj_timeline_array, handles);
	F(drm_syncobj_timeline_array, points); F(drm_syncobj_timeline_array, count_handles);
	F(drm_syncobj_timeline_array, flags);
#ifdef OWN_VGEM
	puts("own vgem");
#endif
	S(drm_vgem_fence_attach); F(drm_vgem_fence_attach, handle);
	F(drm_vgem_fence_attach, flags); F(drm_vgem_fence_attach, out_fence);
	F(drm_vgem_fence_attach, pad);
	S(drm_vgem_fence_signal); F(drm_vgem_fence_signal, fence); F(drm_vgem_fence_signal, flags);

	I(DRM_IOCTL_GET_UNIQUE); I(DRM_IOCTL_GET_MAGIC); I(DRM_IOCTL_GET_CLIENT); I(DRM_IOCTL_SET_VERSION);
	I(DRM_IOCTL_AUTH_MAGIC); I(DRM_IOCTL_GEM_FLINK); I(DRM_IOCTL_GEM_OPEN);
	I(DRM_IOCTL_VERSION); I(DRM_IOCTL_GEM_CLOSE); I(DRM_IOCTL_GET_CAP);
	I(DRM_IOCTL_PRIME_HANDLE_TO_FD); I(DRM_IOCTL_PRIME_FD_TO_HANDLE);
	I(DRM_IOCTL_MODE_CREATE_DUMB); I(DRM_IOCTL_MODE_MAP_DUMB);
	I(DRM_IOCTL_MODE_DESTROY_DUMB); I(DRM_IOCTL_SYNCOBJ_CREATE);
	I(DRM_IOCTL_SYNCOBJ_DESTROY); I(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD);
	I(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE); I(DRM_IOCTL_SYNCOBJ_WAIT);
	I(DRM_IOCTL_SYNCOBJ_RESET); I(DRM_IOCTL_SYNCOBJ_SIGNAL);
	I(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT); I(DRM_IOCTL_SYNCOBJ_QUERY);
	I(DRM_IOCTL_SYNCOBJ_TRANSFER); I(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL);
	I(DRM_IOCTL_VGEM_FENCE_ATTACH); I(DRM_IOCTL_VGEM_FENCE_SIGNAL);

	C(DRM_IOCTL_BASE); C(DRM_COMMAND_BASE); C(DRM_COMMAND_END);
	C(DRM_CLOEXEC); C(DRM_RDWR); C(DRM_IOCTL_SET_MASTER); C(DRM_IOCTL_DROP_MASTER);
	C(DRM_CAP_DUMB_BUFFER); C(DRM_CAP_VBLANK_HIGH_CRTC); C(DRM_CAP_DUMB_PREFERRED_DEPTH);
	C(DRM_CAP_DUMB_PREFER_SHADOW); C(DRM_CAP_PRIME); C(DRM_PRIME_CAP_IMPORT);
	C(DRM_PRIME_CAP_EXPORT); C(DRM_CAP_TIMESTAMP_MONOTONIC); C(DRM_CAP_ASYNC_PAGE_FLIP);
	C(DRM_CAP_CURSOR_WIDTH); C(DRM_CAP_CURSOR_HEIGHT); C(DRM_CAP_ADDFB2_MODIFIERS);
	C(DRM_CAP_PAGE_FLIP_TARGET); C(DRM_CAP_CRTC_IN_VBLANK_EVENT); C(DRM_CAP_SYNCOBJ);
	C(DRM_CAP_SYNCOBJ_TIMELINE);
	C(DRM_SYNCOBJ_CREATE_SIGNALED); C(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE);
	C(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE); C(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL);
	C(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT); C(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE);
	C(DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED);
	C(DRM_VGEM_FENCE_ATTACH); C(DRM_VGEM_FENCE_SIGNAL); C(VGEM_FENCE_WRITE);
#else
	puts("missing-family drm");
#endif
	return 0;
}
