"""ImagePropertiesWeigher (Nova 2023.2, per-property settings 2025.1): prefer nodes whose
pods share the pod's image properties (`weighbridge.io/image-properties`).

Raw weight = over the properties the pod and the node's pods have in common (same name and
value), the number of the node's pods having each, times its ratio in
`image_props_weight_setting` (0 for a property not listed), or times 1 when the setting is
empty. A positive multiplier packs pods of like images, a negative one spreads them; Nova's
default 0 leaves it off.
"""

from __future__ import annotations

from collections import Counter

from extender.engine.weighers.base import BaseWeigher
from extender.model.hoststate import HostState, property_pairs
from extender.model.options import Options, parse_weight_setting
from extender.model.request import RequestSpec


class ImagePropertiesWeigher(BaseWeigher):
    """Pods on the node with the pod's image properties, per property ratio."""

    multiplier_key = "image_props_weight_multiplier"

    def __init__(self, options: Options, multiplier: float) -> None:
        super().__init__(options, multiplier)
        self.setting = dict(parse_weight_setting(options.image_props_weight_setting))

    def applies(self, spec: RequestSpec) -> bool:
        return bool(spec.image_properties)

    def _weigh_object(self, host: HostState, spec: RequestSpec) -> float:
        requested = spec.derived(self.name, lambda s: property_pairs(s.image_properties))
        existing: Counter[tuple[str, str]] = Counter()
        for info in host.instances.values():
            existing.update(info.image_properties & requested)
        setting = self.setting
        if not setting:
            return float(sum(existing.values()))
        return sum(setting.get(name, 0.0) * count for (name, _), count in existing.items())
