//! Serves arbitrary ioctls (fd kind, command, argument bytes) through the
//! dispatcher with a mock caller: nothing may panic, and nothing the input
//! made may outlive it (every dma-buf is gone once the input is done).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let kind = data[0];
    let raw = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    // Keep the command within the trapped families most of the time.
    let types = [b'b', b'>', b'W', b'u', b'H', b'd'];
    let cmd = (raw & !0xff00) | (u32::from(types[(raw >> 8) as usize % types.len()]) << 8);
    let _ = dmasync_exec::fuzzing::ioctl(kind, cmd, &data[5..]);
    let live = dmasync::buf::live_buffers();
    assert!(live.is_empty(), "the input left {live:?}");
});
