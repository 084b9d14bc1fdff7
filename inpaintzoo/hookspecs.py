"""The hooks a plugin may implement. Keep this list short."""
import pluggy

hookspec = pluggy.HookspecMarker("inpaintzoo")
hookimpl = pluggy.HookimplMarker("inpaintzoo")


@hookspec
def register_components(register):
    """Register components: `register(kind, name, factory, config_model=None)`.

    `config_model` defaults to `factory.Config`. The host rejects duplicate names, naming both plugins.
    """
