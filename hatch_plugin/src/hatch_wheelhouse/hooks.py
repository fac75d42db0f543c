"""Registers the build hook with hatchling (entry point group `hatch`)."""

from hatchling.plugin import hookimpl

from .build_hook import WheelhouseBuildHook


@hookimpl
def hatch_register_build_hook():
    return WheelhouseBuildHook
