"""supplyline.estimate: shipments and volumes (Monte Carlo over the case's priors) and claim tests."""

from supplyline.estimate.cargo import cargo_moved_t, displacement_t, load_t
from supplyline.estimate.claims import ClaimTestConfig, assess_claims, claim_interval
from supplyline.estimate.priors import PriorRange, prior_ranges
from supplyline.estimate.shipments import VoyageDraws, estimate, outbound_routes, voyage_draws

__all__ = [
    "ClaimTestConfig",
    "PriorRange",
    "VoyageDraws",
    "assess_claims",
    "cargo_moved_t",
    "claim_interval",
    "displacement_t",
    "estimate",
    "load_t",
    "outbound_routes",
    "prior_ranges",
    "voyage_draws",
]
