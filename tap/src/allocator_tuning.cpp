#include <tapstack/tap/allocator_tuning.hpp>
#include <cstdlib>  // defines __GLIBC__ on glibc systems
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tapstack::tap {

void tune_allocator_for_connection_churn() noexcept {
#if defined(__GLIBC__)
    // Rings up to 4 MiB come from the heap, and up to 256 MiB of free heap stays mapped.
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

}  // namespace tapstack::tap
