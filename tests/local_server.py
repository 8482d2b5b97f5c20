"""An HTTP server on 127.0.0.1 for the download tests: no test ever reaches the internet."""

import http.server
import threading


class LocalServer:
    """Serves GET requests in a daemon thread; a subclass answers them with ``answer(path) -> (status, body,
    headers)`` (``Content-Length`` defaults to the body's length; a header given by ``answer`` wins)."""

    def __init__(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, body, headers = server.answer(self.path)
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, path: str) -> tuple:
        raise NotImplementedError

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
