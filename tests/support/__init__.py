"""What the tests share, and nothing else: no test module lives here.

- ``helpers``: what the local server holds, a closed port, a child process's environment
- ``leakcheck``: the threads, descriptors and asyncio tasks a process holds
- ``devserver``: a raw Socket.IO producer and the short timers of the local server's tests
- ``server_process``: the local server in a process of its own (``python -m``), killed and
  started again; ``redis_server``: a throwaway ``redis-server``
- ``cancel_worker``: the streaming process of the cross-process cancel tests (``python -m``)
- ``refusing_server``, ``token_responder``: HTTP servers that answer wrongly on purpose
- ``cli``: the ``streamstraight`` command run as a subprocess; ``wheel``: a built wheel in a
  fresh virtual environment
- ``examples``, ``web_servers``: the examples under their real servers, gunicorn and uvicorn
- ``_async/``: flavoured helpers, generated into ``_sync/`` by ``scripts/unasync.py``
- ``shims/``: the hand-written pair (``_async.py``, ``_sync.py``) of what cannot be generated
"""
