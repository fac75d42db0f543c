"""The hatchling build hook: glue between hatch's build and the wheelhouse."""

import os
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from .config import ConfigError, parse, with_overrides
from .errors import WheelhouseError
from .names import shown
from .wheelhouse import Staged, clean, prepare

# What a user can fix: each becomes one line (a configuration error, one per
# problem); a traceback helps no user here.
EXPECTED = (ConfigError, WheelhouseError, OSError)


class WheelhouseBuildHook(BuildHookInterface):
    PLUGIN_NAME = "wheelhouse"

    _staged: Staged | None = None

    def initialize(self, version: str, build_data: dict) -> None:
        # Editable installs (development) need no wheelhouse.
        if version != "standard":
            return
        try:
            raw, variables = with_overrides(self.config, os.environ)
            config = parse(raw, Path(self.root), variables)
            self._staged = prepare(
                config,
                self.metadata.core.dependencies,
                self.metadata.core.optional_dependencies,
                Path(self.directory),
                lambda message: self.app.display_info(shown(message)),
                self.metadata.core.name,
            )
        except EXPECTED as exc:
            self._abort(exc)

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        if self._staged is None:
            return
        staged, self._staged = self._staged, None
        try:
            staged.add_project_wheel(
                Path(artifact_path), self.metadata.core.name, self.metadata.version
            )
            staged.commit()
        except BaseException as exc:
            staged.discard()
            if isinstance(exc, EXPECTED):
                self._abort(exc)
            raise
        self.app.display_success(f"wheelhouse written to {staged.final}")

    def clean(self, versions: list[str]) -> None:
        try:
            clean(Path(self.directory))
        except OSError as exc:
            self._abort(exc)

    def _abort(self, exc: Exception) -> None:
        # Escaped: no character of a message can move the cursor or reorder the line.
        self.app.abort(f"hatch-wheelhouse: {shown(str(exc), lines=True)}")
