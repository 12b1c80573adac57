"""A Project API server whose build raises the error class named by its "error" option.

Copied into a test project as microtvm_api_server.py beside the kit. {"error": "BuildFailedError"}
raises microtvm_kit.errors.BuildFailedError("raised BuildFailedError on purpose"); the names
"TemplateArchiveError" (a template's own subclass of BadArchiveError) and "KeyError" (not an
error of the kit) test how other classes cross the wire.
"""

from microtvm_kit import errors, server


class TemplateArchiveError(errors.BadArchiveError):
    """A template's own, more specific kind of bad archive."""


class RaisingHandler(server.ProjectAPIHandler):
    """Every call but build and server_info_query does nothing."""

    def server_info_query(self, tvm_version):
        option = server.ProjectOption("error", type="str", optional=["build"], help="class name")
        return server.ServerInfo("raising", False, None, [option])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir, options):
        pass

    def build(self, options):
        name = options["error"]
        cls = {"TemplateArchiveError": TemplateArchiveError, "KeyError": KeyError}.get(name)
        raise (cls or getattr(errors, name))(f"raised {name} on purpose\nsecond line")

    def flash(self, options):
        pass

    def open_transport(self, options):
        return server.TransportTimeouts(0, 0, 0)

    def close_transport(self):
        pass

    def read_transport(self, n, timeout_sec):
        raise errors.TransportClosedError()

    def write_transport(self, data, timeout_sec):
        raise errors.TransportClosedError()


if __name__ == "__main__":
    server.main(RaisingHandler())
