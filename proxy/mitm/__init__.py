"""Code that runs inside ``mitmdump``, in its own environment (mitmproxy 12 on Python >= 3.12).

Every module here imports only the standard library, mitmproxy and its dependencies (``h11``,
``cryptography``), and its siblings through relative imports: the launcher exposes this folder to
mitmdump as the package ``asmkit_mitm``, never the rest of the kit.
"""
