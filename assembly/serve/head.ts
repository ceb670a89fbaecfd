// Response heads (RFC 9112 section 4, RFC 9110 section 15): the status line and the fields
// every response carries, written with an Out. The status line always says HTTP/1.1, the
// version the server speaks (RFC 9110 2.5), whatever minor version the request had.
import { Out } from "./out";
import { dateText } from "./clock";

export const SERVER_NAME = "wasm-zerocopy";

export function reason(status: u16): string {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 412: return "Precondition Failed";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

/** "HTTP/1.1 200 OK", Server and Date. */
export function statusLine(out: Out, status: u16): void {
  out.str("HTTP/1.1 ").dec(status).byte(0x20).str(reason(status)).crlf();
  out.str("Server: ").str(SERVER_NAME).crlf();
  out.str("Date: ").bytes(dateText, 29).crlf();
}

/**
 * The connection's fate, then the empty line. An HTTP/1.0 client that asked to keep the
 * connection is told it is kept (RFC 9112 9.3, 1.0 "keep-alive"); 1.1 keeps it unless told.
 */
export function endHead(out: Out, keepAlive: bool, minor: u8): void {
  if (!keepAlive) out.str("Connection: close\r\n");
  else if (minor == 0) out.str("Connection: keep-alive\r\n");
  out.crlf();
}

/** A small HTML body for an error status, as nginx sends: "<h1>404 Not Found</h1>". */
export function errorPageLength(status: u16): u32 {
  // "<html><head><title>" S " " R "</title></head><body><h1>" S " " R "</h1></body></html>\n"
  return 64 + 2 * (4 + <u32>reason(status).length);
}
export function errorPage(out: Out, status: u16): void {
  out.str("<html><head><title>").dec(status).byte(0x20).str(reason(status)).str("</title></head><body><h1>")
    .dec(status).byte(0x20).str(reason(status)).str("</h1></body></html>\n");
}
