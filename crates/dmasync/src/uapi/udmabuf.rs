//! udmabuf ioctls (include/uapi/linux/udmabuf.h; drivers/dma-buf/udmabuf.c),
//! issued on `/dev/udmabuf`: memfd ranges as a dma-buf.
//!
//! The command must match exactly; anything else is `-ENOTTY`. The result is
//! an ordinary dma-buf whose reservation object udmabuf never adds fences to.

use super::{uapi_ioctls, uapi_structs};

/// The ioctl magic of udmabuf (`'u'`).
pub const UDMABUF_IOC_MAGIC: u8 = b'u';
/// The only flag: the new dma-buf fd gets `FD_CLOEXEC`. Other bits are ignored (6.12).
pub const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;
/// Default of the module parameter `list_limit`: most items in one list.
pub const UDMABUF_LIST_LIMIT_DEFAULT: u32 = 1024;
/// Default of the module parameter `size_limit_mb`: largest buffer in MiB.
pub const UDMABUF_SIZE_LIMIT_MB_DEFAULT: u64 = 64;

uapi_structs! {
    /// Argument of [`UDMABUF_CREATE`]: one memfd range as a dma-buf.
    pub struct UdmabufCreate = "udmabuf_create" {
        /// A memfd with `F_SEAL_SHRINK` and without `F_SEAL_WRITE` /
        /// `F_SEAL_FUTURE_WRITE`, else `-EINVAL`; a closed fd or a file
        /// that is not shmem/hugetlbfs -> `-EBADFD`; a tmpfs file that is not
        /// a sealable memfd -> `-EINVAL`.
        pub memfd: u32,
        /// [`UDMABUF_FLAGS_CLOEXEC`]; unknown bits are ignored.
        pub flags: u32,
        /// Page aligned, else `-EINVAL`; the range must lie within the memfd.
        pub offset: u64,
        /// Page aligned and non-zero, else `-EINVAL`; at most
        /// `size_limit_mb` MiB.
        pub size: u64,
    }

    /// One range of a [`UDMABUF_CREATE_LIST`] request; the same rules as
    /// [`UdmabufCreate`].
    pub struct UdmabufCreateItem = "udmabuf_create_item" {
        /// As [`UdmabufCreate::memfd`].
        pub memfd: u32,
        /// Not checked (6.12).
        pub __pad: u32,
        /// As [`UdmabufCreate::offset`].
        pub offset: u64,
        /// As [`UdmabufCreate::size`]; the ranges' total must be non-zero.
        pub size: u64,
    }

    /// Header of the [`UDMABUF_CREATE_LIST`] argument; `count`
    /// [`UdmabufCreateItem`]s follow it directly (`list[]`, 8 + 24·count bytes).
    pub struct UdmabufCreateList = "udmabuf_create_list" {
        /// As [`UdmabufCreate::flags`].
        pub flags: u32,
        /// Number of items: 0 or more than `list_limit` -> `-EINVAL`.
        pub count: u32,
    }
}

uapi_ioctls! {
    /// `_IOW('u', 0x42, struct udmabuf_create)` = `0x40187542`; returns the dma-buf fd.
    UDMABUF_CREATE = iow(UDMABUF_IOC_MAGIC, 0x42, UdmabufCreate);
    /// `_IOW('u', 0x43, struct udmabuf_create_list)` = `0x40087543` (the size
    /// covers the header only); returns the dma-buf fd.
    UDMABUF_CREATE_LIST = iow(UDMABUF_IOC_MAGIC, 0x43, UdmabufCreateList);
}
