// ctorch.h: the plain C API between Swift and libtorch.
//
// Every function returns a status (0 = ok, nonzero = a C++ exception was caught) and writes its
// results through out-pointers. On failure `ct_last_error()` returns libtorch's message (shapes
// included) for the calling thread. No torch type appears here: tensors and optimizers are opaque
// handles that the caller frees exactly once.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_optimizer_s *ct_optimizer;
typedef struct ct_generator_s *ct_generator;

// dtypes (values are c10::ScalarType's)
enum { CT_UINT8 = 0, CT_INT32 = 3, CT_INT64 = 4, CT_FLOAT16 = 5, CT_FLOAT32 = 6, CT_FLOAT64 = 7,
       CT_BOOL = 11, CT_BFLOAT16 = 15 };
// devices
enum { CT_CPU = 0, CT_CUDA = 1 };

const char *ct_last_error(void);

// ---------------------------------------------------------------- runtime
const char *ct_version(void);
void ct_set_num_threads(int n);
int ct_get_num_threads(void);
void ct_manual_seed(uint64_t seed);
/// Returns freed heap memory to the system (glibc malloc_trim), for memory measurements.
void ct_trim_heap(void);
int ct_cuda_is_available(void);
int ct_cuda_device_count(void);
int ct_load_cuda(const char *library_path); // dlopen libtorch_cuda.so so CUDA registers
// The folder of the libtorch_cpu.so this process loaded (libtorch_cuda.so of the same install is there).
int ct_torch_library_folder(char *buffer, int size);
// GPU facts from the CUDA driver (libcuda.so.1, dlopen'ed; 1 when there is no driver): versions as
// CUDA encodes them (12040 = 12.4), a device's name, compute capability and memory in bytes.
int ct_cuda_driver_version(int *version);
int ct_cuda_runtime_version(int *version);
int ct_cuda_device_facts(int index, char *name, int name_size, int *major, int *minor, long long *memory);
// GPU speed settings: TF32 for float32 matmuls and convolutions, cuDNN choosing its fastest algorithm per shape.
int ct_cuda_tune(int allow_tf32, int cudnn_benchmark);
int ct_cuda_synchronize(int index); // waits for the GPU's queued work (timing)
int ct_cpu_has_bf16(void);                  // AVX512-BF16 or AMX available
int ct_grad_enabled(void);
void ct_set_grad_enabled(int enabled);
// inference mode is an RAII guard in C++: we expose a counter-based push/pop.
int ct_inference_mode_push(void);
void ct_inference_mode_pop(void);
int ct_autocast_set(int device_type, int enabled, int dtype); // autocast on/off for a device type
int ct_autocast_is_enabled(int device_type);
int ct_autocast_suspend(int device_type, int suspended); // inside an autocast region: off (1) / back on (0)

// ---------------------------------------------------------------- generators
int ct_generator_new(uint64_t seed, ct_generator *out);
void ct_generator_free(ct_generator g);
int ct_generator_get_state(ct_generator g, ct_tensor *out);
int ct_generator_set_state(ct_generator g, ct_tensor state);

// ---------------------------------------------------------------- lifetime and metadata
void ct_free(ct_tensor t);
int ct_shallow_clone(ct_tensor t, ct_tensor *out); // a new handle on the same storage
int ct_ndim(ct_tensor t, int64_t *out);
int ct_sizes(ct_tensor t, int64_t *out, int64_t capacity); // writes min(ndim, capacity) sizes
int ct_dtype(ct_tensor t, int *out);
int ct_device(ct_tensor t, int *type, int *index);
int ct_numel(ct_tensor t, int64_t *out);
int ct_defined(ct_tensor t);
int ct_requires_grad(ct_tensor t, int *out);
int ct_set_requires_grad(ct_tensor t, int flag);
int ct_is_contiguous(ct_tensor t, int *out);

// ---------------------------------------------------------------- creation
// Copies `data` (elements of `dtype`, row-major for `sizes`) into a new CPU tensor.
int ct_from_data(const void *data, const int64_t *sizes, int ndim, int dtype, ct_tensor *out);
int ct_zeros(const int64_t *sizes, int ndim, int dtype, int device, int index, ct_tensor *out);
int ct_ones(const int64_t *sizes, int ndim, int dtype, int device, int index, ct_tensor *out);
int ct_full(const int64_t *sizes, int ndim, double value, int dtype, int device, int index, ct_tensor *out);
int ct_randn(const int64_t *sizes, int ndim, ct_generator g, int dtype, int device, int index, ct_tensor *out);
int ct_rand(const int64_t *sizes, int ndim, ct_generator g, int dtype, int device, int index, ct_tensor *out);
int ct_randn_like(ct_tensor t, ct_generator g, ct_tensor *out);
int ct_arange(int64_t n, int dtype, ct_tensor *out);
int ct_uniform_(ct_tensor t, double low, double high, ct_generator g);
int ct_scalar_tensor(double value, int dtype, ct_tensor *out);

// Copies the tensor's elements (converted to `dtype`, made contiguous, moved to CPU) into `dst`,
// which must hold `nbytes` bytes = numel * element size.
int ct_copy_to(ct_tensor t, int dtype, void *dst, size_t nbytes);
int ct_item(ct_tensor t, double *out);

// ---------------------------------------------------------------- conversion and copies
int ct_to(ct_tensor t, int dtype, int device, int index, ct_tensor *out);
int ct_contiguous(ct_tensor t, ct_tensor *out);
int ct_channels_last(ct_tensor t, ct_tensor *out);
int ct_is_channels_last(ct_tensor t, int *out); // contiguous in channels-last order
// Re-lays a tensor's storage channels-last in place (keeps its identity: parameters stay parameters).
int ct_set_channels_last_(ct_tensor t);
int ct_move_(ct_tensor t, int device, int index); // the handle now holds t moved to a device (same requires_grad, no grad)
int ct_clone(ct_tensor t, ct_tensor *out);
int ct_detach(ct_tensor t, ct_tensor *out);
int ct_copy_(ct_tensor dst, ct_tensor src); // in place, no grad recorded
int ct_fill_(ct_tensor t, double value);

// ---------------------------------------------------------------- elementwise
// op codes for the unary entry point
enum { CT_NEG = 0, CT_EXP, CT_LOG, CT_SQRT, CT_ABS, CT_SIGMOID, CT_TANH, CT_RELU, CT_SQUARE,
       CT_ISFINITE, CT_SIGN, CT_ROUND, CT_FLOOR };
int ct_unary(int op, ct_tensor a, ct_tensor *out);
enum { CT_ADD = 0, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_EQ, CT_GT, CT_LT };
int ct_binary(int op, ct_tensor a, ct_tensor b, ct_tensor *out);
int ct_binary_scalar(int op, ct_tensor a, double b, ct_tensor *out);
int ct_rsub_scalar(double a, ct_tensor b, ct_tensor *out); // a - b
int ct_leaky_relu(ct_tensor a, double slope, ct_tensor *out);
int ct_clamp(ct_tensor a, double lo, double hi, ct_tensor *out);
int ct_where(ct_tensor cond, ct_tensor a, ct_tensor b, ct_tensor *out);
int ct_nan_to_num(ct_tensor a, double nan, double posinf, double neginf, ct_tensor *out);

// ---------------------------------------------------------------- reductions
int ct_sum(ct_tensor a, ct_tensor *out);
int ct_mean(ct_tensor a, ct_tensor *out);
int ct_sum_dims(ct_tensor a, const int64_t *dims, int ndims, int keepdim, ct_tensor *out);
int ct_mean_dims(ct_tensor a, const int64_t *dims, int ndims, int keepdim, ct_tensor *out);
int ct_max(ct_tensor a, ct_tensor *out);
int ct_min(ct_tensor a, ct_tensor *out);
int ct_all_finite(ct_tensor a, int *out);

// ---------------------------------------------------------------- shape
int ct_reshape(ct_tensor a, const int64_t *sizes, int ndim, ct_tensor *out);
int ct_permute(ct_tensor a, const int64_t *dims, int ndim, ct_tensor *out);
int ct_transpose(ct_tensor a, int64_t d0, int64_t d1, ct_tensor *out);
int ct_unsqueeze(ct_tensor a, int64_t dim, ct_tensor *out);
int ct_squeeze_dim(ct_tensor a, int64_t dim, ct_tensor *out);
int ct_expand(ct_tensor a, const int64_t *sizes, int ndim, ct_tensor *out);
int ct_cat(const ct_tensor *ts, int n, int64_t dim, ct_tensor *out);
int ct_stack(const ct_tensor *ts, int n, int64_t dim, ct_tensor *out);
// Splits into pieces of the given sizes along dim; writes `n` handles into `outs`.
int ct_split_sizes(ct_tensor a, const int64_t *sizes, int n, int64_t dim, ct_tensor *outs);
int ct_select(ct_tensor a, int64_t dim, int64_t index, ct_tensor *out);
int ct_narrow(ct_tensor a, int64_t dim, int64_t start, int64_t length, ct_tensor *out);
int ct_index_select(ct_tensor a, int64_t dim, ct_tensor index, ct_tensor *out);
int ct_matmul(ct_tensor a, ct_tensor b, ct_tensor *out);
/* softmax along dim, computed and returned in float32 (also under bf16 autocast) */
int ct_softmax(ct_tensor a, int64_t dim, ct_tensor *out);
int ct_flip(ct_tensor a, const int64_t *dims, int ndims, ct_tensor *out);

// ---------------------------------------------------------------- neural-network functions
// bias may be NULL.
int ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t *stride, const int64_t *padding,
              const int64_t *dilation, int64_t groups, ct_tensor *out);
int ct_conv_transpose2d(ct_tensor x, ct_tensor w, ct_tensor bias, const int64_t *stride,
                        const int64_t *padding, const int64_t *output_padding, int64_t groups,
                        const int64_t *dilation, ct_tensor *out);
int ct_reflection_pad2d(ct_tensor x, const int64_t *pad4, ct_tensor *out); // left,right,top,bottom
int ct_zero_pad2d(ct_tensor x, const int64_t *pad4, ct_tensor *out);
// running_mean/var may be NULL (then batch statistics are always used).
int ct_batch_norm(ct_tensor x, ct_tensor weight, ct_tensor bias, ct_tensor running_mean,
                  ct_tensor running_var, int training, double momentum, double eps, ct_tensor *out);
int ct_group_norm(ct_tensor x, int64_t groups, ct_tensor weight, ct_tensor bias, double eps, ct_tensor *out);
int ct_upsample_nearest2d(ct_tensor x, int64_t out_h, int64_t out_w, ct_tensor *out);
int ct_upsample_bilinear2d(ct_tensor x, int64_t out_h, int64_t out_w, int align_corners, ct_tensor *out);
int ct_avg_pool2d(ct_tensor x, int64_t kernel, int64_t stride, ct_tensor *out);
int ct_max_pool2d(ct_tensor x, int64_t kernel, int64_t stride, ct_tensor *out);
// Bilinear sampling of x (N, C, H, W) at grid (N, Ho, Wo, 2) in [-1, 1] (x, y); outside the image
// zeros (padding_mode 0) or the nearest border pixel (1).
int ct_grid_sample(ct_tensor x, ct_tensor grid, int padding_mode, int align_corners, ct_tensor *out);
int ct_mse_loss(ct_tensor a, ct_tensor b, ct_tensor *out); // mean reduction
int ct_linear(ct_tensor x, ct_tensor w, ct_tensor bias, ct_tensor *out);
int ct_pixel_shuffle(ct_tensor x, int64_t factor, ct_tensor *out);

// ---------------------------------------------------------------- autograd
int ct_backward(ct_tensor loss);
// Writes NULL into *out when the tensor has no gradient yet.
int ct_grad(ct_tensor t, ct_tensor *out);
int ct_zero_grad(ct_tensor t); // sets the gradient to undefined (PyTorch's set_to_none)
// Computes d(outputs)/d(inputs) without touching .grad; grad_outputs may be NULL (then ones).
int ct_autograd_grad(const ct_tensor *outputs, int n_out, const ct_tensor *inputs, int n_in, ct_tensor *grads);
// clip_grad_norm_ over a list of parameters; writes the total norm before clipping.
int ct_clip_grad_norm(const ct_tensor *params, int n, double max_norm, double *total_norm);

// ---------------------------------------------------------------- optimizers (libtorch's own)
enum { CT_ADAM = 0, CT_ADAMW = 1 };
int ct_optimizer_new(int kind, const ct_tensor *params, int n, double lr, double beta1, double beta2,
                     double eps, double weight_decay, int amsgrad, ct_optimizer *out);
void ct_optimizer_free(ct_optimizer o);
int ct_optimizer_step(ct_optimizer o);
int ct_optimizer_zero_grad(ct_optimizer o);
int ct_optimizer_set_lr(ct_optimizer o, double lr);
int ct_optimizer_get_lr(ct_optimizer o, double *lr);
// Per-parameter Adam state (for exact resume). `has` is 0 when the parameter has no state yet
// (no step taken); then the tensors are not written.
int ct_optimizer_get_state(ct_optimizer o, int param_index, int *has, int64_t *step, ct_tensor *exp_avg,
                           ct_tensor *exp_avg_sq, ct_tensor *max_exp_avg_sq);
int ct_optimizer_set_state(ct_optimizer o, int param_index, int64_t step, ct_tensor exp_avg,
                           ct_tensor exp_avg_sq, ct_tensor max_exp_avg_sq);

// ---------------------------------------------------------------- distributed (distributed.cpp)
typedef struct ct_group_s *ct_group;
// Joins a job of `world` processes: rank 0 hosts the rendezvous store on host:port, the others
// connect to it, then gloo connects every pair of ranks over TCP. timeout_ms bounds the
// rendezvous and every collective: a dead peer fails one at once, a hung one after the timeout.
int ct_group_new(const char *host, int port, int rank, int world, int timeout_ms, ct_group *out);
void ct_group_free(ct_group g);
int ct_group_allreduce(ct_group g, const ct_tensor *tensors, int n);          // in-place sums
int ct_group_broadcast(ct_group g, const ct_tensor *tensors, int n, int root); // in place, from root
// Sums the parameters' gradients over the ranks in place, packed into buckets of about
// bucket_bytes; `buckets` gets how many collectives that took.
int ct_group_allreduce_grads(ct_group g, const ct_tensor *params, int n, int64_t bucket_bytes, int *buckets);
// A new tensor: x summed over the ranks, with autograd through it (the gradient is summed too).
int ct_group_allreduce_differentiable(ct_group g, ct_tensor x, ct_tensor *out);
// The job's key-value store (torchrun's rendezvous store), for settings checks and fault reports.
int ct_store_set(ct_group g, const char *key, const char *value);
int ct_store_get(ct_group g, const char *key, int timeout_ms, char **value); // free with ct_string_free
int ct_store_check(ct_group g, const char *key, int *present);
void ct_string_free(char *s);

#ifdef __cplusplus
}
#endif
#endif
