// distributed.cpp: several processes training as one, on PyTorch's own distributed engine (c10d)
// inside libtorch_cpu.so: its TCPStore for the rendezvous (the store torchrun's MASTER_ADDR and
// MASTER_PORT name) and its gloo process group for the collectives.
//
// ProcessGroupGloo.hpp includes gloo's headers, which the torch wheel does not ship: they come from
// Debian's libgloo-dev (scripts/setup.sh). Only its declarations are used; nothing links against
// Debian's libgloo, and no gloo object is made here (gloo's own types stay inside libtorch, which
// was built with the gloo revision it pins), so the two gloo versions never meet.
#define USE_C10D_GLOO 1
#include "shim.hpp"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

struct ct_group_s {
  c10::intrusive_ptr<c10d::TCPStore> tcp;
  c10::intrusive_ptr<c10d::Store> keys;  // VidPred's own keys, apart from gloo's
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::chrono::milliseconds timeout;
};

namespace {
void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>> &works) {
  for (auto &w : works) w->wait();
}

void allreduce_in_place(ct_group g, std::vector<at::Tensor> tensors) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto &t : tensors) {
    std::vector<at::Tensor> one{t};
    works.push_back(g->gloo->allreduce(one));
  }
  wait_all(works);
}

// A sum over ranks that autograd can go through: the gradient of every rank's input is the sum
// of the gradients of every rank's output (each rank's loss depends on all inputs). Synchronised
// BatchNorm is built from it.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, int64_t group) {
    ctx->saved_data["group"] = group;
    auto y = x.detach().clone().contiguous();
    allreduce_in_place(reinterpret_cast<ct_group>(group), {y});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = grads[0].clone().contiguous();
    allreduce_in_place(reinterpret_cast<ct_group>(ctx->saved_data["group"].toInt()), {g});
    return {g, at::Tensor()};
  }
};
// This machine's IPv4 address on the route to `host` (a UDP socket connected there sends nothing).
std::string address_towards(const std::string &host) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || !found) {
    throw std::runtime_error("cannot resolve MASTER_ADDR " + host + ": check the name, or give its IP address");
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr *>(&local), &length) == 0;
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  if (!ok) throw std::runtime_error("no route from this machine to MASTER_ADDR " + host + " (set GLOO_SOCKET_IFNAME to the interface to use)");
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text));
  return text;
}

// Every rank posts the world size it was started with and compares it with rank 0's (rank 0 with
// everyone's), so that a rank started with another WORLD_SIZE is named at once instead of the
// rendezvous timing out.
void check_world_size(c10d::Store &store, int rank, int world, std::chrono::milliseconds timeout) {
  auto text = std::to_string(world);
  store.set("world/" + std::to_string(rank), std::vector<uint8_t>(text.begin(), text.end()));
  std::vector<int> others;
  if (rank == 0) {
    for (int r = 1; r < world; ++r) others.push_back(r);
  } else {
    others.push_back(0);
  }
  for (int other : others) {
    auto key = "world/" + std::to_string(other);
    store.wait({key}, timeout);
    auto value = store.get(key);
    std::string theirs(value.begin(), value.end());
    if (theirs != text) {
      throw std::runtime_error("rank " + std::to_string(rank) + " was started with WORLD_SIZE=" + text + " and rank " +
                               std::to_string(other) + " with WORLD_SIZE=" + theirs +
                               ": start every rank with the same WORLD_SIZE");
    }
  }
}
}  // namespace

extern "C" {

int ct_group_new(const char *host, int port, int rank, int world, int timeout_ms, ct_group *out) {
  CT_TRY({
    auto timeout = std::chrono::milliseconds(timeout_ms);
    // c10d logs each connection retry with a C++ backtrace; its failures reach the user as errors
    // that name the rank anyway, so its log stays quiet unless TORCH_CPP_LOG_LEVEL asks for it.
    if (!std::getenv("TORCH_CPP_LOG_LEVEL")) FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, 3);
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = rank == 0;
    options.numWorkers = world;
    options.waitWorkers = false;  // the gloo rendezvous below waits for every rank
    options.timeout = timeout;
    auto group = std::make_unique<ct_group_s>();
    group->timeout = timeout;
    group->tcp = c10::make_intrusive<c10d::TCPStore>(host, options);
    group->keys = c10::make_intrusive<c10d::PrefixStore>("vidpred", group->tcp);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    // The address gloo listens on: loopback when the job is on one machine, else the interface
    // GLOO_SOCKET_IFNAME names (as in PyTorch), else this machine's address on the route to the
    // rendezvous host. (PyTorch's default, the address the hostname resolves to, is often
    // 127.0.x.1 from /etc/hosts, which the other machines cannot reach.)
    std::string rendezvous(host);
    const char *interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (rendezvous == "localhost" || rendezvous.rfind("127.", 0) == 0) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (interface && *interface) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(address_towards(rendezvous)));
    }
    gloo_options->threads = 2;
    check_world_size(*group->keys, rank, world, timeout);
    auto gloo_store = c10::make_intrusive<c10d::PrefixStore>("gloo", group->tcp);
    group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(gloo_store, rank, world, gloo_options);
    *out = group.release();
  })
}

void ct_group_free(ct_group g) { delete g; }

int ct_group_allreduce(ct_group g, const ct_tensor *tensors, int n) {
  CT_TRY({
    std::vector<at::Tensor> ts;
    for (int i = 0; i < n; ++i) ts.push_back(tensors[i]->t);
    allreduce_in_place(g, ts);
  })
}

int ct_group_broadcast(ct_group g, const ct_tensor *tensors, int n, int root) {
  CT_TRY({
    at::NoGradGuard no_grad;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (int i = 0; i < n; ++i) {
      std::vector<at::Tensor> one{tensors[i]->t};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      works.push_back(g->gloo->broadcast(one, options));
    }
    wait_all(works);
  })
}

int ct_group_allreduce_grads(ct_group g, const ct_tensor *params, int n, int64_t bucket_bytes, int *buckets) {
  CT_TRY({
    at::NoGradGuard no_grad;
    // Which parameters have a gradient on any rank: those get one everywhere (zeros where a rank
    // had none), so that every rank packs the same buckets; the others stay without one.
    auto has = at::zeros({n}, at::kInt);
    for (int i = 0; i < n; ++i) has[i] = params[i]->t.grad().defined() ? 1 : 0;
    allreduce_in_place(g, {has});
    auto flags = has.accessor<int, 1>();
    std::vector<at::Tensor> grads;
    for (int i = 0; i < n; ++i) {
      if (flags[i] == 0) continue;
      auto &p = params[i]->t;
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    // Buckets of consecutive gradients of one dtype and device, about bucket_bytes each (DDP's
    // 25 MB by default): one flat tensor per bucket, all of them in flight at once.
    std::vector<std::vector<at::Tensor>> packs;
    int64_t bytes = 0;
    for (auto &grad : grads) {
      bool fresh = packs.empty() || bytes >= bucket_bytes || packs.back().back().scalar_type() != grad.scalar_type() ||
                   packs.back().back().device() != grad.device();
      if (fresh) { packs.emplace_back(); bytes = 0; }
      packs.back().push_back(grad);
      bytes += grad.numel() * grad.element_size();
    }
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto &pack : packs) {
      std::vector<at::Tensor> pieces;
      for (auto &grad : pack) pieces.push_back(grad.reshape({-1}));
      flats.push_back(at::cat(pieces));
      std::vector<at::Tensor> one{flats.back()};
      works.push_back(g->gloo->allreduce(one));
    }
    wait_all(works);
    for (size_t b = 0; b < packs.size(); ++b) {
      int64_t offset = 0;
      for (auto &grad : packs[b]) {
        grad.copy_(flats[b].narrow(0, offset, grad.numel()).view_as(grad));
        offset += grad.numel();
      }
    }
    *buckets = static_cast<int>(packs.size());
  })
}

int ct_group_allreduce_differentiable(ct_group g, ct_tensor x, ct_tensor *out) {
  CT_TRY(*out = ctorch::wrap(AllReduceSum::apply(x->t, reinterpret_cast<int64_t>(g))))
}

int ct_store_set(ct_group g, const char *key, const char *value) {
  CT_TRY({
    std::string v(value);
    g->keys->set(key, std::vector<uint8_t>(v.begin(), v.end()));
  })
}

int ct_store_get(ct_group g, const char *key, int timeout_ms, char **value) {
  CT_TRY({
    g->keys->wait({key}, std::chrono::milliseconds(timeout_ms));
    auto bytes = g->keys->get(key);
    char *copy = static_cast<char *>(std::malloc(bytes.size() + 1));
    std::memcpy(copy, bytes.data(), bytes.size());
    copy[bytes.size()] = 0;
    *value = copy;
  })
}

int ct_store_check(ct_group g, const char *key, int *present) {
  CT_TRY(*present = g->keys->check({key}) ? 1 : 0)
}

void ct_string_free(char *s) { std::free(s); }

}  // extern "C"
