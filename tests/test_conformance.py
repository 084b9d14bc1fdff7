"""Every registered component, from every installed plugin, gets the same checks (timm style)."""
import pytest

from inpaintzoo import plugins
from inpaintzoo.testing import check_entry

ENTRIES = list(plugins.registry())


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_component_conforms(entry):
    check_entry(entry)


def test_every_plugin_loaded():
    failed = {n: i.error for n, i in plugins.host().plugins.items() if i.error}
    assert not failed
