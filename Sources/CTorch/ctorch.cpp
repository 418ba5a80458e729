// ctorch.cpp: tensors, autograd, optimizers and devices over libtorch (distributed.cpp: c10d).
// Every entry point catches C++ exceptions (c10::Error, std::exception and anything else) and
// turns them into a status plus a thread-local message, so no exception ever crosses into Swift.
#include "shim.hpp"

#include <torch/torch.h>
#include <ATen/autocast_mode.h>
#include <cstdio>
#include <dlfcn.h>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct ct_optimizer_s { std::unique_ptr<torch::optim::Optimizer> opt; std::vector<at::Tensor> params; };
struct ct_generator_s { at::Generator g; };

namespace {
thread_local std::string last_error;
}  // namespace

void ctorch::set_error(const char *msg) { last_error = msg ? msg : "unknown error"; }

namespace {
using ctorch::set_error;
using ctorch::wrap;

at::IntArrayRef dims(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

at::TensorOptions options(int dtype, int device, int index) {
  auto opts = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
  if (device == CT_CUDA) return opts.device(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index)));
  return opts.device(at::kCPU);
}

std::optional<at::Generator> gen(ct_generator g) {
  if (!g) return std::nullopt;
  return g->g;
}

std::optional<at::Tensor> opt_tensor(ct_tensor t) {
  if (!t || !t->t.defined()) return std::nullopt;
  return t->t;
}

thread_local std::vector<std::unique_ptr<c10::InferenceMode>> inference_guards;
}  // namespace

extern "C" {

const char *ct_last_error(void) { return last_error.c_str(); }

// ---------------------------------------------------------------- runtime
const char *ct_version(void) {
  static std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                         "." + std::to_string(TORCH_VERSION_PATCH);
  return v.c_str();
}
void ct_set_num_threads(int n) { at::set_num_threads(n); }
int ct_get_num_threads(void) { return at::get_num_threads(); }
namespace {
// libtorch settles which CUDA backend it has on its first question about CUDA
// (at::detail::getCUDAHooks() keeps its first answer): asked before libtorch_cuda.so is
// loaded, it answers "no CUDA" for the rest of the process, even after the library is loaded.
// So nothing here asks libtorch about CUDA until that library is in the process.
bool cuda_backend_loaded() {
  void *h = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
  if (h) dlclose(h);  // only drops the reference NOLOAD took
  return h != nullptr;
}
}  // namespace

void ct_manual_seed(uint64_t seed) {
  if (cuda_backend_loaded()) { torch::manual_seed(seed); return; }  // seeds the GPUs' generators too
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_current_seed(seed);
}
void ct_trim_heap(void) { malloc_trim(0); }
int ct_cuda_is_available(void) {
  if (!cuda_backend_loaded()) return 0;
  try { return torch::cuda::is_available() ? 1 : 0; } catch (...) { return 0; }
}
int ct_cuda_device_count(void) {
  if (!cuda_backend_loaded()) return 0;
  try { return static_cast<int>(torch::cuda::device_count()); } catch (...) { return 0; }
}
int ct_load_cuda(const char *library_path) {
  // libtorch_cuda.so registers the CUDA backend in its static initialisers; loading it is enough.
  void *h = dlopen(library_path, RTLD_NOW | RTLD_GLOBAL);
  if (!h) { set_error(dlerror()); return 1; }
  return 0;
}
int ct_torch_library_folder(char *buffer, int size) {
  Dl_info info;
  // Any function of libtorch_cpu.so tells where it was loaded from.
  if (!dladdr(reinterpret_cast<void *>(&at::get_num_threads), &info) || !info.dli_fname) { set_error("dladdr found no libtorch"); return 1; }
  std::string path(info.dli_fname);
  auto slash = path.rfind('/');
  std::string folder = slash == std::string::npos ? std::string(".") : path.substr(0, slash);
  if (static_cast<int>(folder.size()) + 1 > size) { set_error("buffer too small"); return 1; }
  std::snprintf(buffer, static_cast<size_t>(size), "%s", folder.c_str());
  return 0;
}

namespace {
// The CUDA driver API, looked up at run time: VidPred links no CUDA library of its own.
void *cuda_driver() {
  static void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  return handle;
}
void *driver_symbol(const char *name) {
  void *h = cuda_driver();
  return h ? dlsym(h, name) : nullptr;
}
bool driver_ready() {
  using Init = int (*)(unsigned int);
  static int result = [] { auto init = reinterpret_cast<Init>(driver_symbol("cuInit")); return init ? init(0) : -1; }();
  return result == 0;
}
}  // namespace

int ct_cuda_synchronize(int index) { CT_TRY(torch::cuda::synchronize(index)) }
int ct_cuda_tune(int allow_tf32, int cudnn_benchmark) {
  CT_TRY({
    auto &context = at::globalContext();
    context.setAllowTF32CuBLAS(allow_tf32 != 0);
    context.setAllowTF32CuDNN(allow_tf32 != 0);
    context.setBenchmarkCuDNN(cudnn_benchmark != 0);
  })
}
int ct_cuda_driver_version(int *version) {
  using Get = int (*)(int *);
  auto get = reinterpret_cast<Get>(driver_symbol("cuDriverGetVersion"));
  if (!get || get(version) != 0) { set_error("no CUDA driver (libcuda.so.1)"); return 1; }
  return 0;
}
int ct_cuda_runtime_version(int *version) {
  using Get = int (*)(int *);
  // libcudart is loaded with libtorch_cpu.so of a CUDA build.
  auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "cudaRuntimeGetVersion"));
  if (!get || get(version) != 0) { set_error("no CUDA runtime (libcudart)"); return 1; }
  return 0;
}
int ct_cuda_device_facts(int index, char *name, int name_size, int *major, int *minor, long long *memory) {
  using Get = int (*)(int *, int);
  using Name = int (*)(char *, int, int);
  using Attribute = int (*)(int *, int, int);
  using Memory = int (*)(size_t *, int);
  if (!driver_ready()) { set_error("no CUDA driver (libcuda.so.1)"); return 1; }
  auto device_get = reinterpret_cast<Get>(driver_symbol("cuDeviceGet"));
  auto get_name = reinterpret_cast<Name>(driver_symbol("cuDeviceGetName"));
  auto attribute = reinterpret_cast<Attribute>(driver_symbol("cuDeviceGetAttribute"));
  auto total = reinterpret_cast<Memory>(driver_symbol("cuDeviceTotalMem_v2"));
  int device = 0;
  size_t bytes = 0;
  if (!device_get || !get_name || !attribute || !total || device_get(&device, index) != 0
      || get_name(name, name_size, device) != 0 || attribute(major, 75, device) != 0   // COMPUTE_CAPABILITY_MAJOR
      || attribute(minor, 76, device) != 0 || total(&bytes, device) != 0) {             // COMPUTE_CAPABILITY_MINOR
    set_error("the CUDA driver could not describe the device");
    return 1;
  }
  *memory = static_cast<long long>(bytes);
  return 0;
}

int ct_cpu_has_bf16(void) {
  __builtin_cpu_init();
  return (__builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16")) ? 1 : 0;
}
int ct_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }
void ct_set_grad_enabled(int enabled) { c10::GradMode::set_enabled(enabled != 0); }
int ct_inference_mode_push(void) { CT_TRY(inference_guards.push_back(std::make_unique<c10::InferenceMode>())) }
void ct_inference_mode_pop(void) { if (!inference_guards.empty()) inference_guards.pop_back(); }
int ct_autocast_is_enabled(int device_type) {
  try { return at::autocast::is_autocast_enabled(device_type == CT_CUDA ? at::kCUDA : at::kCPU) ? 1 : 0; } catch (...) { return 0; }
}
int ct_autocast_suspend(int device_type, int suspended) {
  // Only the flag: the region's dtype and its cache of cast weights stay for when it resumes.
  CT_TRY(at::autocast::set_autocast_enabled(device_type == CT_CUDA ? at::kCUDA : at::kCPU, suspended == 0))
}
int ct_autocast_set(int device_type, int enabled, int dtype) {
  CT_TRY({
    auto dev = device_type == CT_CUDA ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(dev, static_cast<at::ScalarType>(dtype));
    at::autocast::set_autocast_enabled(dev, enabled != 0);
    if (!enabled) at::autocast::clear_cache();
  })
}

// ---------------------------------------------------------------- generators
int ct_generator_new(uint64_t seed, ct_generator *out) {
  CT_TRY(*out = new ct_generator_s{at::detail::createCPUGenerator(seed)})
}
void ct_generator_free(ct_generator g) { delete g; }
int ct_generator_get_state(ct_generator g, ct_tensor *out) {
  CT_TRY({
    std::lock_guard<std::mutex> lock(g->g.mutex());
    *out = wrap(g->g.get_state());
  })
}
int ct_generator_set_state(ct_generator g, ct_tensor state) {
  CT_TRY({
    std::lock_guard<std::mutex> lock(g->g.mutex());
    g->g.set_state(state->t);
  })
}

// ---------------------------------------------------------------- lifetime and metadata
void ct_free(ct_tensor t) { delete t; }
int ct_shallow_clone(ct_tensor t, ct_tensor *out) { CT_TRY(*out = wrap(t->t)) }
int ct_ndim(ct_tensor t, int64_t *out) { CT_TRY(*out = t->t.dim()) }
int ct_sizes(ct_tensor t, int64_t *out, int64_t capacity) {
  CT_TRY({
    auto s = t->t.sizes();
    for (int64_t i = 0; i < static_cast<int64_t>(s.size()) && i < capacity; ++i) out[i] = s[i];
  })
}
int ct_dtype(ct_tensor t, int *out) { CT_TRY(*out = static_cast<int>(t->t.scalar_type())) }
int ct_device(ct_tensor t, int *type, int *index) {
  CT_TRY({
    auto d = t->t.device();
    *type = d.is_cuda() ? CT_CUDA : CT_CPU;
    *index = d.has_index() ? d.index() : 0;
  })
}
int ct_numel(ct_tensor t, int64_t *out) { CT_TRY(*out = t->t.numel()) }
int ct_defined(ct_tensor t) { return (t && t->t.defined()) ? 1 : 0; }
int ct_requires_grad(ct_tensor t, int *out) { CT_TRY(*out = t->t.requires_grad() ? 1 : 0) }
int ct_set_requires_grad(ct_tensor t, int flag) { CT_TRY(t->t.requires_grad_(flag != 0)) }
int ct_is_contiguous(ct_tensor t, int *out) { CT_TRY(*out = t->t.is_contiguous() ? 1 : 0) }

// ---------------------------------------------------------------- creation
int ct_from_data(const void *data, const int64_t *sizes, int ndim, int dtype, ct_tensor *out) {
  CT_TRY({
    auto opts = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    // from_blob does not own `data`; clone() copies it into memory libtorch owns.
    *out = wrap(at::from_blob(const_cast<void *>(data), dims(sizes, ndim), opts).clone());
  })
}
int ct_zeros(const int64_t *sizes, int ndim, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY(*out = wrap(at::zeros(dims(sizes, ndim), options(dtype, device, index))))
}
int ct_ones(const int64_t *sizes, int ndim, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY(*out = wrap(at::ones(dims(sizes, ndim), options(dtype, device, index))))
}
int ct_full(const int64_t *sizes, int ndim, double value, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY(*out = wrap(at::full(dims(sizes, ndim), value, options(dtype, device, index))))
}
// Random tensors are drawn on the CPU from the (CPU) generator and then moved, so a seed gives the
// same numbers on every device.
int ct_randn(const int64_t *sizes, int ndim, ct_generator g, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY({
    auto t = at::randn(dims(sizes, ndim), gen(g), at::TensorOptions().dtype(at::kFloat));
    *out = wrap(t.to(options(dtype, device, index)));
  })
}
int ct_rand(const int64_t *sizes, int ndim, ct_generator g, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY({
    auto t = at::rand(dims(sizes, ndim), gen(g), at::TensorOptions().dtype(at::kFloat));
    *out = wrap(t.to(options(dtype, device, index)));
  })
}
int ct_randn_like(ct_tensor t, ct_generator g, ct_tensor *out) {
  CT_TRY({
    auto r = at::randn(t->t.sizes(), gen(g), at::TensorOptions().dtype(at::kFloat));
    *out = wrap(r.to(t->t.options()));
  })
}
int ct_arange(int64_t n, int dtype, ct_tensor *out) {
  CT_TRY(*out = wrap(at::arange(n, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)))))
}
int ct_uniform_(ct_tensor t, double low, double high, ct_generator g) {
  CT_TRY({
    at::NoGradGuard no_grad;
    auto r = at::empty(t->t.sizes(), at::TensorOptions().dtype(at::kFloat)).uniform_(low, high, gen(g));
    t->t.copy_(r);
  })
}
int ct_scalar_tensor(double value, int dtype, ct_tensor *out) {
  CT_TRY(*out = wrap(at::scalar_tensor(value, at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype)))))
}
int ct_copy_to(ct_tensor t, int dtype, void *dst, size_t nbytes) {
  CT_TRY({
    auto c = t->t.detach().to(at::kCPU, static_cast<at::ScalarType>(dtype)).contiguous();
    size_t need = static_cast<size_t>(c.numel()) * c.element_size();
    TORCH_CHECK(need == nbytes, "copy_to: tensor of shape ", c.sizes(), " needs ", need,
                " bytes but the destination holds ", nbytes);
    if (need) std::memcpy(dst, c.data_ptr(), need);
  })
}
int ct_item(ct_tensor t, double *out) { CT_TRY(*out = t->t.item<double>()) }

// ---------------------------------------------------------------- conversion and copies
int ct_to(ct_tensor t, int dtype, int device, int index, ct_tensor *out) {
  CT_TRY(*out = wrap(t->t.to(options(dtype, device, index))))
}
int ct_contiguous(ct_tensor t, ct_tensor *out) { CT_TRY(*out = wrap(t->t.contiguous())) }
int ct_channels_last(ct_tensor t, ct_tensor *out) {
  CT_TRY(*out = wrap(t->t.contiguous(at::MemoryFormat::ChannelsLast)))
}
int ct_is_channels_last(ct_tensor t, int *out) {
  CT_TRY(*out = t->t.is_contiguous(at::MemoryFormat::ChannelsLast) ? 1 : 0)
}
int ct_set_channels_last_(ct_tensor t) {
  CT_TRY({
    at::NoGradGuard no_grad;
    auto relaid = t->t.contiguous(at::MemoryFormat::ChannelsLast);
    t->t.set_data(relaid);
  })
}
int ct_move_(ct_tensor t, int device, int index) {
  CT_TRY({
    at::NoGradGuard no_grad;
    auto moved = t->t.to(options(static_cast<int>(t->t.scalar_type()), device, index).memory_format(at::MemoryFormat::Preserve));
    // The handle now holds the moved tensor; whoever holds the handle (a module's parameter) sees it.
    bool requires_grad = t->t.requires_grad();
    t->t = moved.detach().requires_grad_(requires_grad);
  })
}
int ct_clone(ct_tensor t, ct_tensor *out) { CT_TRY(*out = wrap(t->t.clone())) }
int ct_detach(ct_tensor t, ct_tensor *out) { CT_TRY(*out = wrap(t->t.detach())) }
int ct_copy_(ct_tensor dst, ct_tensor src) {
  CT_TRY({
    at::NoGradGuard no_grad;
    dst->t.copy_(src->t);
  })
}
int ct_fill_(ct_tensor t, double value) {
  CT_TRY({
    at::NoGradGuard no_grad;
    t->t.fill_(value);
  })
}

// ---------------------------------------------------------------- elementwise
int ct_unary(int op, ct_tensor a, ct_tensor *out) {
  CT_TRY({
    const at::Tensor &x = a->t;
    at::Tensor r;
    switch (op) {
      case CT_NEG: r = at::neg(x); break;
      case CT_EXP: r = at::exp(x); break;
      case CT_LOG: r = at::log(x); break;
      case CT_SQRT: r = at::sqrt(x); break;
      case CT_ABS: r = at::abs(x); break;
      case CT_SIGMOID: r = at::sigmoid(x); break;
      case CT_TANH: r = at::tanh(x); break;
      case CT_RELU: r = at::relu(x); break;
      case CT_SQUARE: r = at::square(x); break;
      case CT_ISFINITE: r = at::isfinite(x); break;
      case CT_SIGN: r = at::sign(x); break;
      case CT_ROUND: r = at::round(x); break;
      case CT_FLOOR: r = at::floor(x); break;
      default: TORCH_CHECK(false, "unknown unary op ", op);
    }
    *out = wrap(std::move(r));
  })
}
int ct_binary(int op, ct_tensor a, ct_tensor b, ct_tensor *out) {
  CT_TRY({
    const at::Tensor &x = a->t, &y = b->t;
    at::Tensor r;
    switch (op) {
      case CT_ADD: r = at::add(x, y); break;
      case CT_SUB: r = at::sub(x, y); break;
      case CT_MUL: r = at::mul(x, y); break;
      case CT_DIV: r = at::div(x, y); break;
      case CT_POW: r = at::pow(x, y); break;
      case CT_MAXIMUM: r = at::maximum(x, y); break;
      case CT_MINIMUM: r = at::minimum(x, y); break;
      case CT_EQ: r = at::eq(x, y); break;
      case CT_GT: r = at::gt(x, y); break;
      case CT_LT: r = at::lt(x, y); break;
      default: TORCH_CHECK(false, "unknown binary op ", op);
    }
    *out = wrap(std::move(r));
  })
}
int ct_binary_scalar(int op, ct_tensor a, double b, ct_tensor *out) {
  CT_TRY({
    const at::Tensor &x = a->t;
    at::Tensor r;
    switch (op) {
      case CT_ADD: r = at::add(x, b); break;
      case CT_SUB: r = at::sub(x, b); break;
      case CT_MUL: r = at::mul(x, b); break;
      case CT_DIV: r = at::div(x, b); break;
      case CT_POW: r = at::pow(x, b); break;
      case CT_MAXIMUM: r = at::clamp_min(x, b); break;
      case CT_MINIMUM: r = at::clamp_max(x, b); break;
      case CT_EQ: r = at::eq(x, b); break;
      case CT_GT: r = at::gt(x, b); break;
      case CT_LT: r = at::lt(x, b); break;
      default: TORCH_CHECK(false, "unknown binary op ", op);
    }
    *out = wrap(std::move(r));
  })
}
int ct_rsub_scalar(double a, ct_tensor b, ct_tensor *out) { CT_TRY(*out = wrap(at::rsub(b->t, a))) }
int ct_leaky_relu(ct_tensor a, double slope, ct_tensor *out) { CT_TRY(*out = wrap(at::leaky_relu(a->t, slope))) }
int ct_clamp(ct_tensor a, double lo, double hi, ct_tensor *out) { CT_TRY(*out = wrap(at::clamp(a->t, lo, hi))) }
int ct_where(ct_tensor cond, ct_tensor a, ct_tensor b, ct_tensor *out) {
  CT_TRY(*out = wrap(at::where(cond->t, a->t, b->t)))
}
int ct_nan_to_num(ct_tensor a, double nan, double posinf, double neginf, ct_tensor *out) {
  CT_TRY(*out = wrap(at::nan_to_num(a->t, nan, posinf, neginf)))
}

// ---------------------------------------------------------------- reductions
int ct_sum(ct_tensor a, ct_tensor *out) { CT_TRY(*out = wrap(a->t.sum())) }
int ct_mean(ct_tensor a, ct_tensor *out) { CT_TRY(*out = wrap(a->t.mean())) }
int ct_sum_dims(ct_tensor a, const int64_t *d, int n, int keepdim, ct_tensor *out) {
  CT_TRY(*out = wrap(a->t.sum(dims(d, n), keepdim != 0)))
}
int ct_mean_dims(ct_tensor a, const int64_t *d, int n, int keepdim, ct_tensor *out) {
  CT_TRY(*out = wrap(a->t.mean(dims(d, n), keepdim != 0)))
}
int ct_max(ct_tensor a, ct_tensor *out) { CT_TRY(*out = wrap(a->t.max())) }
int ct_min(ct_tensor a, ct_tensor *out) { CT_TRY(*out = wrap(a->t.min())) }
int ct_all_finite(ct_tensor a, int *out) { CT_TRY(*out = at::isfinite(a->t).all().item<bool>() ? 1 : 0) }

// ---------------------------------------------------------------- shape
int ct_reshape(ct_tensor a, const int64_t *s, int n, ct_tensor *out) { CT_TRY(*out = wrap(a->t.reshape(dims(s, n)))) }
int ct_permute(ct_tensor a, const int64_t *d, int n, ct_tensor *out) { CT_TRY(*out = wrap(a->t.permute(dims(d, n)))) }
int ct_transpose(ct_tensor a, int64_t d0, int64_t d1, ct_tensor *out) { CT_TRY(*out = wrap(a->t.transpose(d0, d1))) }
int ct_unsqueeze(ct_tensor a, int64_t dim, ct_tensor *out) { CT_TRY(*out = wrap(a->t.unsqueeze(dim))) }
int ct_squeeze_dim(ct_tensor a, int64_t dim, ct_tensor *out) { CT_TRY(*out = wrap(a->t.squeeze(dim))) }
int ct_expand(ct_tensor a, const int64_t *s, int n, ct_tensor *out) { CT_TRY(*out = wrap(a->t.expand(dims(s, n)))) }
int ct_cat(const ct_tensor *ts, int n, int64_t dim, ct_tensor *out) {
  CT_TRY({
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; ++i) v.push_back(ts[i]->t);
    *out = wrap(at::cat(v, dim));
  })
}
int ct_stack(const ct_tensor *ts, int n, int64_t dim, ct_tensor *out) {
  CT_TRY({
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; ++i) v.push_back(ts[i]->t);
    *out = wrap(at::stack(v, dim));
  })
}
int ct_split_sizes(ct_tensor a, const int64_t *sizes, int n, int64_t dim, ct_tensor *outs) {
  CT_TRY({
    auto parts = a->t.split_with_sizes(dims(sizes, n), dim);
    for (int i = 0; i < n; ++i) outs[i] = wrap(parts[i]);
  })
}
int ct_select(ct_tensor a, int64_t dim, int64_t index, ct_tensor *out) { CT_TRY(*out = wrap(a->t.select(dim, index))) }
int ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length, ct_tensor *out) {
  CT_TRY(*out = wrap(a->t.narrow(dim, start, length)))
}
int ct_index_select(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor *out) {
  CT_TRY(*out = wrap(a->t.index_select(dim, index->t)))
}
int ct_matmul(ct_tensor a, ct_tensor b, ct_tensor *out) { CT_TRY(*out = wrap(at::matmul(a->t, b->t))) }
int ct_softmax(ct_tensor a, int64_t dim, ct_tensor *out) { CT_TRY(*out = wrap(at::softmax(a->t, dim, at::kFloat))) }
int ct_flip(ct_tensor a, const int64_t *d, int n, ct_tensor *out) { CT_TRY(*out = wrap(a->t.flip(dims(d, n)))) }

// ---------------------------------------------------------------- neural-network functions
int ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t *stride, const int64_t *padding,
              const int64_t *dilation, int64_t groups, ct_tensor *out) {
  CT_TRY(*out = wrap(at::conv2d(x->t, w->t, opt_tensor(bias), dims(stride, 2), dims(padding, 2),
                                dims(dilation, 2), groups)))
}
int ct_conv_transpose2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t *stride, const int64_t *padding,
                        const int64_t *output_padding, int64_t groups, const int64_t *dilation, ct_tensor *out) {
  CT_TRY(*out = wrap(at::conv_transpose2d(x->t, w->t, opt_tensor(bias), dims(stride, 2), dims(padding, 2),
                                          dims(output_padding, 2), groups, dims(dilation, 2))))
}
int ct_reflection_pad2d(ct_tensor x, const int64_t *pad4, ct_tensor *out) {
  CT_TRY(*out = wrap(at::reflection_pad2d(x->t, dims(pad4, 4))))
}
int ct_zero_pad2d(ct_tensor x, const int64_t *pad4, ct_tensor *out) {
  CT_TRY(*out = wrap(at::constant_pad_nd(x->t, dims(pad4, 4), 0.0)))
}
int ct_batch_norm(ct_tensor x, ct_tensor weight, ct_tensor bias, ct_tensor running_mean, ct_tensor running_var,
                  int training, double momentum, double eps, ct_tensor *out) {
  CT_TRY(*out = wrap(at::batch_norm(x->t, opt_tensor(weight), opt_tensor(bias), opt_tensor(running_mean),
                                    opt_tensor(running_var), training != 0, momentum, eps,
                                    at::globalContext().userEnabledCuDNN())))
}
int ct_group_norm(ct_tensor x, int64_t groups, ct_tensor weight, ct_tensor bias, double eps, ct_tensor *out) {
  CT_TRY(*out = wrap(at::group_norm(x->t, groups, opt_tensor(weight), opt_tensor(bias), eps)))
}
int ct_upsample_nearest2d(ct_tensor x, int64_t out_h, int64_t out_w, ct_tensor *out) {
  CT_TRY({
    std::vector<int64_t> size{out_h, out_w};
    *out = wrap(at::upsample_nearest2d(x->t, size));
  })
}
int ct_upsample_bilinear2d(ct_tensor x, int64_t out_h, int64_t out_w, int align_corners, ct_tensor *out) {
  CT_TRY({
    std::vector<int64_t> size{out_h, out_w};
    *out = wrap(at::upsample_bilinear2d(x->t, size, align_corners != 0));
  })
}
int ct_grid_sample(ct_tensor x, ct_tensor grid, int padding_mode, int align_corners, ct_tensor *out) {
  // bilinear; padding_mode 0: zeros outside the image, 1: the nearest border pixel
  CT_TRY(*out = wrap(at::grid_sampler(x->t, grid->t, 0, padding_mode, align_corners != 0)))
}
int ct_max_pool2d(ct_tensor x, int64_t kernel, int64_t stride, ct_tensor *out) {
  CT_TRY(*out = wrap(at::max_pool2d(x->t, {kernel, kernel}, {stride, stride})))
}
int ct_avg_pool2d(ct_tensor x, int64_t kernel, int64_t stride, ct_tensor *out) {
  CT_TRY(*out = wrap(at::avg_pool2d(x->t, {kernel, kernel}, {stride, stride})))
}
int ct_mse_loss(ct_tensor a, ct_tensor b, ct_tensor *out) { CT_TRY(*out = wrap(at::mse_loss(a->t, b->t))) }
int ct_linear(ct_tensor x, ct_tensor w, ct_tensor bias, ct_tensor *out) {
  CT_TRY(*out = wrap(at::linear(x->t, w->t, opt_tensor(bias))))
}
int ct_pixel_shuffle(ct_tensor x, int64_t factor, ct_tensor *out) { CT_TRY(*out = wrap(at::pixel_shuffle(x->t, factor))) }

// ---------------------------------------------------------------- autograd
int ct_backward(ct_tensor loss) { CT_TRY(loss->t.backward()) }
int ct_grad(ct_tensor t, ct_tensor *out) {
  CT_TRY({
    const auto &g = t->t.grad();
    *out = g.defined() ? wrap(g) : nullptr;
  })
}
int ct_zero_grad(ct_tensor t) {
  CT_TRY({
    if (t->t.grad().defined()) t->t.mutable_grad().reset();
  })
}
int ct_autograd_grad(const ct_tensor *outputs, int n_out, const ct_tensor *inputs, int n_in, ct_tensor *grads) {
  CT_TRY({
    std::vector<at::Tensor> outs, ins;
    for (int i = 0; i < n_out; ++i) outs.push_back(outputs[i]->t);
    for (int i = 0; i < n_in; ++i) ins.push_back(inputs[i]->t);
    auto g = torch::autograd::grad(outs, ins, {}, /*retain_graph=*/std::nullopt, /*create_graph=*/false,
                                   /*allow_unused=*/true);
    for (int i = 0; i < n_in; ++i) grads[i] = g[i].defined() ? wrap(g[i]) : nullptr;
  })
}
int ct_clip_grad_norm(const ct_tensor *params, int n, double max_norm, double *total_norm) {
  CT_TRY({
    std::vector<at::Tensor> v;
    for (int i = 0; i < n; ++i) v.push_back(params[i]->t);
    *total_norm = torch::nn::utils::clip_grad_norm_(v, max_norm);
  })
}

// ---------------------------------------------------------------- optimizers
int ct_optimizer_new(int kind, const ct_tensor *params, int n, double lr, double beta1, double beta2, double eps,
                     double weight_decay, int amsgrad, ct_optimizer *out) {
  CT_TRY({
    std::vector<at::Tensor> v;
    for (int i = 0; i < n; ++i) v.push_back(params[i]->t);
    auto holder = std::make_unique<ct_optimizer_s>();
    holder->params = v;
    if (kind == CT_ADAMW) {
      auto o = torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0);
      holder->opt = std::make_unique<torch::optim::AdamW>(v, o);
    } else {
      auto o = torch::optim::AdamOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0);
      holder->opt = std::make_unique<torch::optim::Adam>(v, o);
    }
    *out = holder.release();
  })
}
void ct_optimizer_free(ct_optimizer o) { delete o; }
int ct_optimizer_step(ct_optimizer o) { CT_TRY(o->opt->step()) }
int ct_optimizer_zero_grad(ct_optimizer o) { CT_TRY(o->opt->zero_grad(/*set_to_none=*/true)) }
int ct_optimizer_set_lr(ct_optimizer o, double lr) {
  CT_TRY({
    for (auto &group : o->opt->param_groups()) group.options().set_lr(lr);
  })
}
int ct_optimizer_get_lr(ct_optimizer o, double *lr) { CT_TRY(*lr = o->opt->param_groups().at(0).options().get_lr()) }

}  // extern "C"

namespace {
// AdamW's state type is a different class with the same fields; both are handled here.
template <typename State>
bool read_state(torch::optim::OptimizerParamState *s, int *has, int64_t *step, ct_tensor *m, ct_tensor *v,
                ct_tensor *vmax) {
  auto *st = dynamic_cast<State *>(s);
  if (!st) return false;
  *has = 1;
  *step = st->step();
  *m = wrap(st->exp_avg().clone());
  *v = wrap(st->exp_avg_sq().clone());
  *vmax = st->max_exp_avg_sq().defined() ? wrap(st->max_exp_avg_sq().clone()) : nullptr;
  return true;
}
template <typename State>
std::unique_ptr<torch::optim::OptimizerParamState> make_state(const at::Tensor &p, int64_t step, ct_tensor m, ct_tensor v,
                                                               ct_tensor vmax) {
  auto st = std::make_unique<State>();
  st->step(step);
  // The moments take the parameter's memory layout (channels-last or not), as Adam's own
  // zeros_like does: a moment in another layout would send the update through a different
  // (non-vectorised) kernel whose rounding differs, and a resumed run would drift from the original.
  auto like = [&](const at::Tensor &saved) { return at::empty_like(p).copy_(saved); };
  st->exp_avg(like(m->t));
  st->exp_avg_sq(like(v->t));
  if (vmax && vmax->t.defined()) st->max_exp_avg_sq(like(vmax->t));
  return st;
}
}  // namespace

extern "C" {

int ct_optimizer_get_state(ct_optimizer o, int param_index, int *has, int64_t *step, ct_tensor *exp_avg,
                           ct_tensor *exp_avg_sq, ct_tensor *max_exp_avg_sq) {
  CT_TRY({
    TORCH_CHECK(param_index >= 0 && param_index < static_cast<int>(o->params.size()), "parameter index ",
                param_index, " out of range 0..<", o->params.size());
    *has = 0;
    auto &state = o->opt->state();
    auto it = state.find(o->params[param_index].unsafeGetTensorImpl());
    if (it != state.end()) {
      if (!read_state<torch::optim::AdamParamState>(it->second.get(), has, step, exp_avg, exp_avg_sq, max_exp_avg_sq))
        read_state<torch::optim::AdamWParamState>(it->second.get(), has, step, exp_avg, exp_avg_sq, max_exp_avg_sq);
    }
  })
}
int ct_optimizer_set_state(ct_optimizer o, int param_index, int64_t step, ct_tensor exp_avg, ct_tensor exp_avg_sq,
                           ct_tensor max_exp_avg_sq) {
  CT_TRY({
    TORCH_CHECK(param_index >= 0 && param_index < static_cast<int>(o->params.size()), "parameter index ",
                param_index, " out of range 0..<", o->params.size());
    const auto &p = o->params[param_index];
    TORCH_CHECK(exp_avg->t.sizes() == p.sizes(), "optimizer state exp_avg has shape ", exp_avg->t.sizes(),
                " but the parameter has shape ", p.sizes());
    TORCH_CHECK(exp_avg_sq->t.sizes() == p.sizes(), "optimizer state exp_avg_sq has shape ", exp_avg_sq->t.sizes(),
                " but the parameter has shape ", p.sizes());
    void *key = p.unsafeGetTensorImpl();
    if (dynamic_cast<torch::optim::AdamW *>(o->opt.get()))
      o->opt->state()[key] = make_state<torch::optim::AdamWParamState>(p, step, exp_avg, exp_avg_sq, max_exp_avg_sq);
    else
      o->opt->state()[key] = make_state<torch::optim::AdamParamState>(p, step, exp_avg, exp_avg_sq, max_exp_avg_sq);
  })
}

}  // extern "C"
