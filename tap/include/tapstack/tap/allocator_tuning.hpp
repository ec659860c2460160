#pragma once
// Connection churn allocates and frees a connection's rings (hundreds of KiB each) over and
// over. glibc's defaults return such blocks to the kernel at once (brk/munmap), so every
// connection costs page faults and system calls: measured 6x slower pcap replay of 64,000
// connections. Programs call this once at start-up to keep freed blocks for reuse.
// TODO(#7): a per-stack ring pool in the core would make this unnecessary for library users.

namespace tapstack::tap {

/// Raises glibc's trim and mmap thresholds (process-wide). Harmless elsewhere: a no-op.
void tune_allocator_for_connection_churn() noexcept;

}  // namespace tapstack::tap
