//! The kernel's user-space ABI for the subsystem: ioctl numbers, flag values
//! and the `#[repr(C)]` argument structs (include/uapi/linux/dma-buf.h,
//! sync_file.h, udmabuf.h, dma-heap.h, include/uapi/drm/drm.h, drm_mode.h,
//! vgem_drm.h and the private structs of drivers/dma-buf/sw_sync.c, Linux
//! 6.12).
//!
//! One module per header family: [`dma_buf`], [`sync_file`], [`sw_sync`],
//! [`udmabuf`], [`dma_heap`] and [`drm`] (the core and syncobj ioctls a
//! vgem-like device needs, and vgem's own), with the `_IOC` encoding in
//! [`ioctl`]. Constants keep the kernel's names exactly (`SYNC_IOC_MERGE`),
//! so searching the documentation for a kernel name finds them; structs are
//! named in Rust's case (`SyncMergeData`) and carry the C name as a doc alias.
//!
//! # ABI
//!
//! The module describes the 64-bit (LP64) ABI of the generic ioctl layout
//! (x86-64, arm64, riscv64). Every struct is naturally aligned and has no
//! implicit padding (checked at compile time: `size_of` equals the sum of its
//! fields), except `drm_version`, whose hole is an explicit field here.
//! `from_bytes` and `to_bytes` convert field by field in the target's byte
//! order, which is how the kernel sees the argument in the caller's memory
//! (little-endian on every supported target). The layouts and numbers are
//! compared against the installed C headers by `tests/uapi_layout.rs`.
//!
//! # Dispatch rules the kernel applies to command numbers
//!
//! * dma-buf, sync_file, sw_sync and udmabuf compare the whole command: a
//!   different size, direction or an unknown number is `-ENOTTY` (the burned
//!   sync_file numbers 0–2 included).
//! * DRM and dma-heap select the handler by `type` and `nr` only. The kernel
//!   allocates `max(user size, kernel size)`, copies in the user's size when
//!   both commands have the IN bit, zero-fills the rest, runs the handler and
//!   copies back the user's size when both have OUT — also when the handler
//!   failed. So an older, shorter struct keeps working, a newer longer one is
//!   truncated, and output fields are undefined after an error. DRM: unknown
//!   type `-ENOTTY`, core `nr` without handler `-EINVAL`; dma-heap: `nr`
//!   past its table `-EINVAL`.
//!
//! # Errors
//!
//! Handlers in the model return `crate::Result`; the UAPI answer of an ioctl
//! is `0` (or a non-negative value) on success and `-err.errno()` with
//! [`Error::errno`](crate::Error::errno) on failure, so the errno of each
//! cause is decided in one place (crate::error). The field documentation
//! below says which errno each rule produces.
//!
//! # Locking and lifetime
//!
//! Everything here is plain data: constants and `Copy` structs with no
//! interior mutability and no references, usable from any thread.

pub mod dma_buf;
pub mod dma_heap;
pub mod drm;
pub mod ioctl;
pub mod sw_sync;
pub mod sync_file;
pub mod udmabuf;

/// Length of the fixed name fields (`char name[32]`) of sync_file, sw_sync
/// and dma-buf, terminator included.
#[doc(alias = "DMA_BUF_NAME_LEN")]
pub const NAME_LEN: usize = 32;

/// Reads a NUL-terminated name from a `char name[32]` field: the bytes before
/// the first NUL, and at most 31 of them (the kernel forces byte 31 to NUL
/// before it uses a user's name, e.g. in `SYNC_IOC_MERGE`).
pub fn read_name(field: &[u8; NAME_LEN]) -> &[u8] {
    let field = &field[..NAME_LEN - 1];
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// Builds a `char name[32]` field from `name`: the bytes before its first
/// NUL, truncated to 31 bytes, then NUL-filled (as the kernel's `strscpy`
/// into a 32-byte buffer does; truncation cuts bytes, not characters).
pub fn write_name(name: impl AsRef<[u8]>) -> [u8; NAME_LEN] {
    let name = name.as_ref();
    let len = name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name.len())
        .min(NAME_LEN - 1);
    let mut out = [0u8; NAME_LEN];
    out[..len].copy_from_slice(&name[..len]);
    out
}

/// One field of a UAPI struct: its C name, byte offset and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDesc {
    /// The C field name.
    pub name: &'static str,
    /// Byte offset (`offsetof`).
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
}

/// The layout of one UAPI struct, as the C compiler lays it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StructDesc {
    /// The C struct name (`sync_merge_data`).
    pub name: &'static str,
    /// `sizeof`.
    pub size: usize,
    /// The fields in declaration order.
    pub fields: &'static [FieldDesc],
}

/// One ioctl: its kernel name, command number and argument type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoctlDesc {
    /// The kernel's macro name (`SYNC_IOC_MERGE`).
    pub name: &'static str,
    /// The encoded command number.
    pub cmd: u32,
    /// The C name of the argument type (`sync_merge_data`, `__u32`).
    pub arg: &'static str,
}

/// A type that can be an ioctl argument: its C name and layout.
pub trait Layout {
    /// The C type name.
    const C_NAME: &'static str;
    /// The layout; `fields` is empty for a scalar.
    const DESC: StructDesc;
}

macro_rules! scalar_layout {
    ($($t:ty => $c:literal),*) => {$(
        impl Layout for $t {
            const C_NAME: &'static str = $c;
            const DESC: StructDesc = StructDesc { name: $c, size: size_of::<$t>(), fields: &[] };
        }
    )*};
}
scalar_layout!(u32 => "__u32", u64 => "__u64", usize => "const char *");

/// A field type of a UAPI struct, converted in the target's byte order.
pub(crate) trait Field: Copy {
    /// Bytes the field occupies.
    const SIZE: usize;
    /// Reads the field from the start of `b`; `None` if `b` is too short.
    fn get(b: &[u8]) -> Option<Self>;
    /// Writes the field to the start of `b`, which holds at least `SIZE` bytes.
    fn put(self, b: &mut [u8]);
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const SIZE: usize = size_of::<$t>();
            fn get(b: &[u8]) -> Option<Self> {
                Some(<$t>::from_ne_bytes(b.get(..Self::SIZE)?.try_into().ok()?))
            }
            fn put(self, b: &mut [u8]) {
                b[..Self::SIZE].copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}
int_field!(u32, i32, u64, i64);

impl<const N: usize> Field for [u8; N] {
    const SIZE: usize = N;
    fn get(b: &[u8]) -> Option<Self> {
        b.get(..N)?.try_into().ok()
    }
    fn put(self, b: &mut [u8]) {
        b[..N].copy_from_slice(&self);
    }
}

/// Declares UAPI structs: `#[repr(C)]`, the common derives, `SIZE`,
/// `from_bytes`, `to_bytes`, the [`Layout`] impl, a compile-time check that
/// the struct has no implicit padding, and the module's `STRUCTS` table.
macro_rules! uapi_structs {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident = $cname:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    )*) => {
        $(
            $(#[$meta])*
            #[doc(alias = $cname)]
            #[repr(C)]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct $name {
                $( $(#[$fmeta])* pub $field: $ty, )*
            }

            impl $name {
                /// Size of the C struct in bytes (equal to `size_of::<Self>()`,
                /// checked at compile time).
                pub const SIZE: usize = 0 $(+ <$ty as $crate::uapi::Field>::SIZE)*;

                /// Reads the struct from the first [`Self::SIZE`] bytes of
                /// `bytes`, laid out as the kernel sees it in user memory.
                /// Bytes past `SIZE` are ignored; `None` if `bytes` is shorter.
                pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                    let mut at = 0usize;
                    $(
                        let $field = <$ty as $crate::uapi::Field>::get(bytes.get(at..)?)?;
                        at += <$ty as $crate::uapi::Field>::SIZE;
                    )*
                    let _ = at;
                    Some(Self { $($field),* })
                }

                /// The struct's bytes as the kernel lays them out in user memory.
                pub fn to_bytes(&self) -> [u8; Self::SIZE] {
                    let mut out = [0u8; Self::SIZE];
                    let mut at = 0usize;
                    $(
                        $crate::uapi::Field::put(self.$field, &mut out[at..]);
                        at += <$ty as $crate::uapi::Field>::SIZE;
                    )*
                    let _ = at;
                    out
                }
            }

            impl $crate::uapi::Layout for $name {
                const C_NAME: &'static str = $cname;
                const DESC: $crate::uapi::StructDesc = $crate::uapi::StructDesc {
                    name: $cname,
                    size: size_of::<$name>(),
                    fields: &[$($crate::uapi::FieldDesc {
                        name: stringify!($field),
                        offset: std::mem::offset_of!($name, $field),
                        size: size_of::<$ty>(),
                    }),*],
                };
            }

            const _: () = assert!(size_of::<$name>() == $name::SIZE, "implicit padding");
        )*

        /// The layouts of this module's structs.
        pub const STRUCTS: &[$crate::uapi::StructDesc] =
            &[$(<$name as $crate::uapi::Layout>::DESC),*];
    };
}

/// Declares ioctl numbers from their encoding and argument type, checks at
/// compile time that each number decodes to its family, `nr` and
/// `size_of` its argument (as `declare_drm_ioctls!` does), and builds the
/// module's `IOCTLS` table.
macro_rules! uapi_ioctls {
    ($(
        $(#[$meta:meta])*
        $name:ident = $enc:ident($magic:expr, $nr:expr, $arg:ty);
    )*) => {
        $(
            $(#[$meta])*
            pub const $name: u32 = $crate::uapi::ioctl::$enc($magic, $nr, size_of::<$arg>());
            const _: () = {
                use $crate::uapi::ioctl::{ioc_nr, ioc_size, ioc_type};
                assert!(ioc_size($name) == size_of::<$arg>());
                assert!(ioc_type($name) == $magic && ioc_nr($name) == $nr);
            };
        )*

        /// This module's ioctls.
        pub const IOCTLS: &[$crate::uapi::IoctlDesc] = &[$($crate::uapi::IoctlDesc {
            name: stringify!($name),
            cmd: $name,
            arg: <$arg as $crate::uapi::Layout>::C_NAME,
        }),*];
    };
}
pub(crate) use {uapi_ioctls, uapi_structs};

const FAMILIES: [(&[IoctlDesc], &[StructDesc]); 6] = [
    (dma_buf::IOCTLS, dma_buf::STRUCTS),
    (sync_file::IOCTLS, sync_file::STRUCTS),
    (sw_sync::IOCTLS, sw_sync::STRUCTS),
    (udmabuf::IOCTLS, udmabuf::STRUCTS),
    (dma_heap::IOCTLS, dma_heap::STRUCTS),
    (drm::IOCTLS, drm::STRUCTS),
];

/// Every ioctl of every family, for dispatch tables, tracing and tests.
pub fn ioctls() -> impl Iterator<Item = &'static IoctlDesc> {
    FAMILIES.iter().flat_map(|f| f.0.iter())
}

/// Every argument struct of every family.
pub fn structs() -> impl Iterator<Item = &'static StructDesc> {
    FAMILIES.iter().flat_map(|f| f.1.iter())
}

/// The kernel name of command `cmd`, if it is one of ours (the first match:
/// `DMA_BUF_SET_NAME` and `DMA_BUF_SET_NAME_B` share a number on 64-bit).
pub fn ioctl_name(cmd: u32) -> Option<&'static str> {
    ioctls().find(|d| d.cmd == cmd).map(|d| d.name)
}

#[cfg(test)]
mod tests;
