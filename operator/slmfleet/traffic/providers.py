"""Which traffic provider a SmallModel's rollout names (see provider.py for the interface)."""

from __future__ import annotations

from slmfleet.api.rollout import RolloutSpec
from slmfleet.traffic.gateway_api import GatewayAPIProvider
from slmfleet.traffic.provider import TrafficProvider
from slmfleet.traffic.replica_ratio import ReplicaRatioProvider
from slmfleet.traffic.router_weights import RouterWeightsProvider


def provider_for(rollout: RolloutSpec) -> TrafficProvider:
    """The provider of ``rollout.trafficProvider`` (gateway-api needs its gatewayRef)."""
    if rollout.traffic_provider == "gateway-api":
        if rollout.gateway_ref is None:
            raise ValueError("the gateway-api traffic provider needs gatewayRef")
        ref = rollout.gateway_ref
        return GatewayAPIProvider(ref.name, ref.namespace)
    if rollout.traffic_provider == "replicas":
        return ReplicaRatioProvider()
    return RouterWeightsProvider()
