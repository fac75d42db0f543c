"""The hatchling build hook: glue between hatch's build and the wheelhouse."""

import os
import shutil
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from .config import ConfigError, parse, with_overrides
from .errors import WheelhouseError
from .wheelhouse import Staged, prepare, remove_leftovers


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
                self.app.display_info,
            )
        except (ConfigError, WheelhouseError, OSError) as exc:
            # One line that says what is wrong; a traceback helps no user here.
            self.app.abort(f"hatch-wheelhouse: {exc}")

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        if self._staged is None:
            return
        staged, self._staged = self._staged, None
        try:
            staged.add_project_wheel(
                Path(artifact_path), self.metadata.core.name, self.metadata.version
            )
            staged.commit()
        except BaseException:
            staged.discard()
            raise
        self.app.display_success(f"wheelhouse written to {staged.final}")

    def clean(self, versions: list[str]) -> None:
        shutil.rmtree(Path(self.directory) / "wheelhouse", ignore_errors=True)
        remove_leftovers(Path(self.directory))
