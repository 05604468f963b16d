//! The `_IOC` command encoding (include/uapi/asm-generic/ioctl.h).
//!
//! A command number packs four fields into 32 bits:
//!
//! | bits | field | width |
//! |---|---|---|
//! | 0–7 | `nr`, the command within its family | 8 |
//! | 8–15 | `type`, the family's magic (`'b'`, `'>'`, `'W'`, `'d'`, …) | 8 |
//! | 16–29 | `size` of the argument in bytes | 14 |
//! | 30–31 | `dir`: [`IOC_NONE`], [`IOC_WRITE`] (user to kernel), [`IOC_READ`] (kernel to user) | 2 |
//!
//! This is the generic layout of x86, arm, arm64 and riscv. PowerPC, MIPS,
//! SPARC and Alpha use 13 size bits and other direction values; dmasync
//! does not model them.
//!
//! All functions are `const fn`s without side effects; they can be called
//! from any thread and in constant expressions.

/// Width of the `nr` field.
#[doc(alias = "_IOC_NRBITS")]
pub const IOC_NRBITS: u32 = 8;
/// Width of the `type` field.
#[doc(alias = "_IOC_TYPEBITS")]
pub const IOC_TYPEBITS: u32 = 8;
/// Width of the `size` field.
#[doc(alias = "_IOC_SIZEBITS")]
pub const IOC_SIZEBITS: u32 = 14;
/// Width of the `dir` field.
#[doc(alias = "_IOC_DIRBITS")]
pub const IOC_DIRBITS: u32 = 2;
/// Bit position of the `nr` field.
#[doc(alias = "_IOC_NRSHIFT")]
pub const IOC_NRSHIFT: u32 = 0;
/// Bit position of the `type` field.
#[doc(alias = "_IOC_TYPESHIFT")]
pub const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
/// Bit position of the `size` field.
#[doc(alias = "_IOC_SIZESHIFT")]
pub const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
/// Bit position of the `dir` field.
#[doc(alias = "_IOC_DIRSHIFT")]
pub const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
/// Direction: no argument is copied.
#[doc(alias = "_IOC_NONE")]
pub const IOC_NONE: u32 = 0;
/// Direction bit: the kernel reads the argument (user to kernel, `_IOW`).
#[doc(alias = "_IOC_WRITE")]
pub const IOC_WRITE: u32 = 1;
/// Direction bit: the kernel writes the argument back (kernel to user, `_IOR`).
#[doc(alias = "_IOC_READ")]
pub const IOC_READ: u32 = 2;
/// The IN bit as it sits in an encoded command (`IOC_WRITE << IOC_DIRSHIFT`).
pub const IOC_IN: u32 = IOC_WRITE << IOC_DIRSHIFT;
/// The OUT bit as it sits in an encoded command (`IOC_READ << IOC_DIRSHIFT`).
pub const IOC_OUT: u32 = IOC_READ << IOC_DIRSHIFT;
/// The largest argument size a command can encode (16383 bytes).
pub const IOC_SIZE_MAX: usize = (1 << IOC_SIZEBITS) - 1;

/// `_IOC(dir, type, nr, size)`: encodes a command number.
///
/// # Panics
///
/// If `dir > 3` or `size > IOC_SIZE_MAX`; in a constant expression this is a
/// compile error. The arguments are program constants, never user input.
#[doc(alias = "_IOC")]
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(dir < (1 << IOC_DIRBITS), "ioctl direction out of range");
    assert!(size <= IOC_SIZE_MAX, "ioctl argument too large to encode");
    (dir << IOC_DIRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
        | ((ty as u32) << IOC_TYPESHIFT)
        | ((nr as u32) << IOC_NRSHIFT)
}

/// `_IO(type, nr)`: a command without argument.
#[doc(alias = "_IO")]
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, T)`: the kernel writes a `size`-byte argument back.
///
/// # Panics
///
/// As [`ioc`].
#[doc(alias = "_IOR")]
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(type, nr, T)`: the kernel reads a `size`-byte argument.
///
/// # Panics
///
/// As [`ioc`].
#[doc(alias = "_IOW")]
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, T)`: the kernel reads the argument and writes it back.
///
/// # Panics
///
/// As [`ioc`].
#[doc(alias = "_IOWR")]
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `_IOC_DIR(cmd)`: the direction bits ([`IOC_READ`] | [`IOC_WRITE`]).
#[doc(alias = "_IOC_DIR")]
pub const fn ioc_dir(cmd: u32) -> u32 {
    (cmd >> IOC_DIRSHIFT) & ((1 << IOC_DIRBITS) - 1)
}

/// `_IOC_TYPE(cmd)`: the family's magic.
#[doc(alias = "_IOC_TYPE")]
pub const fn ioc_type(cmd: u32) -> u8 {
    (cmd >> IOC_TYPESHIFT) as u8
}

/// `_IOC_NR(cmd)`: the command within its family.
#[doc(alias = "_IOC_NR")]
pub const fn ioc_nr(cmd: u32) -> u8 {
    (cmd >> IOC_NRSHIFT) as u8
}

/// `_IOC_SIZE(cmd)`: the encoded argument size in bytes.
#[doc(alias = "_IOC_SIZE")]
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_match_the_generic_layout() {
        assert_eq!(io(b'W', 7), 0x0000_5707);
        assert_eq!(ior(b'd', 1, 8), 0x8008_6401);
        assert_eq!(iow(b'b', 0, 8), 0x4008_6200);
        assert_eq!(iowr(b'>', 3, 48), 0xC030_3E03);
        assert_eq!(IOC_IN, 0x4000_0000);
        assert_eq!(IOC_OUT, 0x8000_0000);
        assert_eq!(ioc(3, 0xff, 0xff, IOC_SIZE_MAX), 0xFFFF_FFFF);
    }

    #[test]
    fn decoders_invert_the_encoders() {
        for &(dir, ty, nr, size) in &[
            (IOC_NONE, b'W', 0u8, 0usize),
            (IOC_READ, b'd', 0xCF, 24),
            (IOC_WRITE, b'u', 0x42, 24),
            (IOC_READ | IOC_WRITE, 0xff, 0xff, IOC_SIZE_MAX),
        ] {
            let cmd = ioc(dir, ty, nr, size);
            assert_eq!(
                (ioc_dir(cmd), ioc_type(cmd), ioc_nr(cmd), ioc_size(cmd)),
                (dir, ty, nr, size)
            );
        }
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn oversized_argument_is_refused() {
        let size = std::hint::black_box(IOC_SIZE_MAX + 1);
        let _ = iow(b'b', 0, size);
    }
}
