// shim.hpp: what the shim's C++ files share (never seen by Swift): the tensor handle's layout, the
// thread's error message and the macro that turns every C++ exception into a status.
#ifndef CTORCH_SHIM_HPP
#define CTORCH_SHIM_HPP

#include "ctorch.h"

#include <torch/torch.h>

struct ct_tensor_s { at::Tensor t; };

namespace ctorch {
void set_error(const char *msg);
inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_s{std::move(t)}; }
}  // namespace ctorch

#define CT_TRY(...)                                                         \
  try {                                                                     \
    __VA_ARGS__;                                                            \
    return 0;                                                               \
  } catch (const c10::Error &e) {                                           \
    ctorch::set_error(e.what_without_backtrace());                          \
    return 1;                                                               \
  } catch (const std::exception &e) {                                       \
    ctorch::set_error(e.what());                                            \
    return 1;                                                               \
  } catch (...) {                                                           \
    ctorch::set_error("unknown C++ exception in libtorch");                 \
    return 1;                                                               \
  }

#endif
