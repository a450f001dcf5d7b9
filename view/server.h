/*
 * server: the viewer's HTTP/1.1 server on a libuv loop (uv_tcp), with
 * Server-Sent Events streams.
 *
 * It accepts connections, reads requests with view/http.h's parser and
 * hands each well-formed one to the owner's route callback, which answers
 * it (view_conn_reply) or turns the connection into an event stream
 * (view_conn_stream). The server itself answers what no route should see:
 * 400 for a malformed request and 413 for one over the limits (both then
 * close the connection, after letting the client read the answer), 404
 * when the route answers nothing, 405 for a method other than GET, HEAD or
 * POST.
 *
 * Streams. A stream client asks for frames at most `fps` times a second.
 * The owner asks view_server_wants() whether any stream client is ready
 * for a frame (connected, its previous frame fully handed to the kernel,
 * and 1/fps seconds past since it got one); only then does it build a
 * frame, once, and view_server_send() shares it (one reference-counted
 * buffer) among every ready client. A client whose previous frame is
 * still in flight is skipped and loses that frame: a slow or stalled
 * client holds at most one frame of memory and never makes the owner
 * wait. Without stream clients the owner builds nothing.
 *
 * Timeouts (a sweep every VIEW_SWEEP_MS): a connection that has not sent
 * a complete request within VIEW_REQUEST_TIMEOUT_MS of its last one (or of
 * opening) is closed, and so is one closed after an error answer that the
 * client has not hung up within VIEW_LINGER_MS.
 *
 * Lifecycle: view_server_start binds and listens (an address in use is
 * RS_EIO with a one-line message, nothing left open); view_server_close
 * ends every stream with a last event, closes every handle and frees the
 * server when the last close callback has run, so the caller must run the
 * loop afterwards (sim_loop_free does) and must not touch the server
 * again. Everything runs on the loop's thread.
 *
 * Why not a library: the viewer needs GET, a one-line POST and one-way
 * Server-Sent Events, no WebSocket, TLS or HTTP/2. Debian's libwebsockets
 * can run on a libuv loop, but brings its own context, protocol tables
 * and timers to a run's loop and a dependency to every build for what is
 * here a request parser (view/http.h, fuzzed) and this file.
 */
#ifndef VIEW_SERVER_H
#define VIEW_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/rs_error.h"
#include "view/http.h"

#define VIEW_SWEEP_MS 500
#define VIEW_REQUEST_TIMEOUT_MS 10000
#define VIEW_LINGER_MS 2000
#define VIEW_CLOSE_GRACE_MS 2000   /* streams' last writes at the close */
#define VIEW_CONN_MAX 64           /* open connections; more are refused */
#define VIEW_FPS_DEFAULT 30
#define VIEW_FPS_MAX 120

typedef struct view_server view_server;
typedef struct view_conn view_conn;

/* A reference-counted byte buffer shared by the writes of one frame. */
typedef struct {
  size_t refs;    /* writes in flight plus the maker's reference */
  size_t len;     /* bytes of data */
  char data[];    /* the bytes */
} view_buf;

/* A new buffer of len bytes (copied from p when not NULL), refs 1; NULL
 * when out of memory. */
view_buf *view_buf_new(const char *p, size_t len);
void view_buf_unref(view_buf *b);

typedef struct {
  const char *host;   /* address to bind, numeric IPv4 or IPv6 */
  int port;           /* 0: any free port (view_server_port tells) */
  void *arg;          /* passed to route */
  /* Answers a well-formed request: view_conn_reply or view_conn_stream,
   * and returns 0; or returns 404 for a path it does not serve (the
   * server answers it). */
  int (*route)(void *arg, view_conn *c, const view_http_req *r);
} view_server_opts;

/* Binds and listens on the loop. RS_EIO (address in use, bad address),
 * RS_ENOMEM; nothing is left on the loop then. */
int view_server_start(uv_loop_t *loop, const view_server_opts *o, view_server **out, rs_err *e);
/* The port bound (the one asked for, or the one found for port 0). */
int view_server_port(const view_server *s);
/* Ends every stream with `last` (an SSE event text, may be NULL), closes
 * the server; see above. */
void view_server_close(view_server *s, const char *last);

/* Stream clients connected now. */
int view_server_streams(const view_server *s);
/* Whether a stream client is ready for a frame at loop time now_ms. */
int view_server_wants(const view_server *s, uint64_t now_ms);
/* Sends b (an SSE event text) to every ready stream client (all of them
 * with nothing in flight when force is set); the server takes its own
 * references. Returns the clients it went to. */
int view_server_send(view_server *s, view_buf *b, uint64_t now_ms, int force);
/* Frames not sent to a client because its previous one was still in
 * flight, over the server's life. */
int64_t view_server_dropped(const view_server *s);
/* Frames sent, over the server's life (counted per client). */
int64_t view_server_sent(const view_server *s);

/* Answers the request: a head (status, content type, length) and body
 * (copied). The connection stays open for the next request when the
 * request asked to keep it and the status is below 400. */
void view_conn_reply(view_conn *c, const view_http_req *r, int status, const char *ctype,
                     const char *body, size_t len);
/* The same with a shared buffer for the body (a large page). */
void view_conn_reply_buf(view_conn *c, const view_http_req *r, int status, const char *ctype,
                         view_buf *body);
/* Turns the connection into an event stream of at most fps frames a
 * second (clamped to 1..VIEW_FPS_MAX), after sending `first` (an SSE event
 * text, its own copy). */
void view_conn_stream(view_conn *c, int fps, const char *first, size_t len);

#endif
