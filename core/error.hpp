// Errors: every misuse throws prism::Error with a message naming the op and the shapes.
#pragma once

#include <sstream>
#include <stdexcept>

namespace prism {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace prism

// PRISM_CHECK(cond, "op: expected ... got " << prism::to_string(s));
// The message is a stream expression, built only when the check fails.
#define PRISM_CHECK(cond, msg)               \
  do {                                       \
    if (!(cond)) {                           \
      std::ostringstream prism_os_;          \
      prism_os_ << msg;                      \
      throw ::prism::Error(prism_os_.str()); \
    }                                        \
  } while (0)

#define PRISM_FAIL(msg) PRISM_CHECK(false, msg)
