import Torch

/// A diagonal Gaussian over the latent z (shape B x N x H x W), as the encoder predicts it.
public struct Posterior {
    public let mu: Tensor
    public let logvar: Tensor

    public init(mu: Tensor, logvar: Tensor) {
        self.mu = mu
        self.logvar = logvar
    }

    /// Splits a (B, 2N, H, W) prediction into mu and logvar (torch.chunk(2, dim=1)).
    public init(splitting parameters: Tensor) throws {
        let halves = try parameters.chunk(2, dim: 1)
        self.init(mu: halves[0], logvar: halves[1])
    }

    /// The same distribution with float32 parameters (a no-op when they already are).
    public func float32() throws -> Posterior {
        mu.dtype == .float32 && logvar.dtype == .float32 ? self : Posterior(mu: try mu.to(.float32), logvar: try logvar.to(.float32))
    }

    /// The reparameterization trick: z = mu + eps * exp(logvar / 2), differentiable in mu and logvar.
    public func sample(noise eps: Tensor) throws -> Tensor {
        try mu + eps * (logvar * 0.5).exp()
    }

    public func sample(generator: RandomGenerator? = nil) throws -> Tensor {
        try sample(noise: mu.randnLike(generator: generator))
    }

    /// KL(q || N(0, I)) as the lab computes it: -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) / batch.
    public func klToStandardNormal() throws -> Tensor {
        let batch = Double(mu.shape[0])
        let terms = try (logvar + 1) - mu.square() - logvar.exp()
        return try terms.sum() * (-0.5 / batch)
    }

    /// KL(q || p) for another diagonal Gaussian p (a learned prior), summed and divided by the batch.
    public func kl(to prior: Posterior) throws -> Tensor {
        let batch = Double(mu.shape[0])
        // 0.5 * [logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p) - 1]
        let ratio = try (logvar.exp() + (mu - prior.mu).square()) / prior.logvar.exp()
        let terms = try (prior.logvar - logvar) + ratio - 1
        return try terms.sum() * (0.5 / batch)
    }
}
