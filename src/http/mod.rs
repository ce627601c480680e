//! HTTP/1.1 for the upload path: endpoint URLs, the request head, a strict bounded response parser.
