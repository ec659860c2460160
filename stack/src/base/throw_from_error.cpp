// The throwing side of result<T, E>::value(), for the error enums of the core.
#include <stdexcept>
#include <string>
#include <tapstack/errc.hpp>

namespace tapstack {
void throw_exception_from_error(errc e, const boost::source_location&) {
    throw std::runtime_error(std::string{to_string(e)});
}
}  // namespace tapstack
