"""Skip the 24 MB skybox texture of navigation tasks when nothing is rendered.

safety-gymnasium's ``World.build`` adds the "star_hd" skybox texture to every world it compiles
(at each reset); decoding it takes about 1.9 s of the 1.93 s compile. The skybox only shows in
rendered images, so a ``Builder`` whose ``render_mode`` is ``None`` and whose task does not
observe vision compiles its world without it. Nothing else in the model changes.

Implemented at run time: ``Builder.reset`` (the only path that compiles a world) runs with a
context flag, and ``World.build``'s ``xmltodict.unparse`` drops skybox textures while the flag is
set. :func:`install` is idempotent.
"""

from __future__ import annotations

import contextvars
import functools
import types
from typing import Any

import xmltodict

_SKIP = contextvars.ContextVar("rllib_safe_skip_skybox", default=False)


def needs_skybox(builder: Any) -> bool:
    """Whether a safety-gymnasium ``Builder`` ever draws its world."""
    return builder.render_mode is not None or bool(builder.task.observe_vision)


def _unparse(xml: dict, *args: Any, **kwargs: Any) -> str:
    if _SKIP.get():
        asset = xml["mujoco"]["asset"]
        asset["texture"] = [tex for tex in asset["texture"] if tex.get("@type") != "skybox"]
    return xmltodict.unparse(xml, *args, **kwargs)


def install() -> None:
    """Patch ``World.build``'s XML output and ``Builder.reset``. Needs :func:`compat.apply`."""
    from safety_gymnasium import builder, world

    if getattr(builder.Builder.reset, "_rllib_safe", False):
        return
    world.xmltodict = types.SimpleNamespace(parse=xmltodict.parse, unparse=_unparse)
    original = builder.Builder.reset

    @functools.wraps(original)
    def reset(self: Any, *, seed: int | None = None, options: dict | None = None) -> Any:
        token = _SKIP.set(not needs_skybox(self))
        try:
            return original(self, seed=seed, options=options)
        finally:
            _SKIP.reset(token)

    reset._rllib_safe = True  # type: ignore[attr-defined]
    builder.Builder.reset = reset
