// The libcurl transport: one request per perform(), no redirects followed,
// TLS verification on unless the request says otherwise. Proxies come from
// the environment (http_proxy / HTTPS_PROXY / NO_PROXY), as libcurl reads them.
#include <curl/curl.h>
#ifndef RUSTIMG_CURL_LINKED
#include <dlfcn.h>
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <type_traits>

#include "registry/internal.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry {

using namespace detail;

std::string HttpResponse::header(std::string_view name) const {
  std::string want = to_lower(name);
  for (const auto& [k, v] : headers)
    if (k == want) return v;
  return {};
}

namespace {

/// libcurl's entry points. The shared library and the Python extension load
/// libcurl on first use: libcurl links about thirty libraries (TLS, Kerberos,
/// LDAP, IDN, SSH...); loading them is most of the start-up time of a
/// process, so one that never talks to a registry (building, verifying, or a
/// binding that only builds) does not pay for it. The static C library
/// (librustimg.a, compiled with RUSTIMG_CURL_LINKED) takes them from a libcurl
/// linked the ordinary way instead: a statically linked program cannot
/// dlopen, and one that links the archive names -lcurl anyway. Both fill the
/// same table, from this one list: X(name) for curl_<name>.
#define RUSTIMG_CURL_FUNCTIONS(X)                                                                              \
  X(global_init) X(easy_init) X(easy_cleanup) X(easy_reset) X(easy_setopt) X(easy_perform) X(easy_getinfo)    \
  X(easy_strerror) X(slist_append) X(slist_free_all)

struct CurlApi {
#define RUSTIMG_CURL_FIELD(name) decltype(&::curl_##name) name = nullptr;
  RUSTIMG_CURL_FUNCTIONS(RUSTIMG_CURL_FIELD)
#undef RUSTIMG_CURL_FIELD
};

constexpr const char* kLibcurl = "libcurl.so.4";

CurlApi bind_curl() {
  CurlApi api;
#ifdef RUSTIMG_CURL_LINKED
#define RUSTIMG_CURL_BIND(name) api.name = &::curl_##name;
#else
  void* lib = dlopen(kLibcurl, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    throw Error(ErrorCode::Generic, std::string("cannot load ") + kLibcurl + ", which registry access needs: " +
                                        (why != nullptr ? why : "unknown error") +
                                        ". Install libcurl (Debian/Ubuntu: apt-get install libcurl4)");
  }
  auto bind = [&](auto& fn, const char* name) {
    void* sym = dlsym(lib, name);
    if (sym == nullptr)
      throw Error(ErrorCode::Generic, std::string(kLibcurl) + " has no " + name + ": it is not a usable libcurl");
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
#define RUSTIMG_CURL_BIND(name) bind(api.name, "curl_" #name);
#endif
  RUSTIMG_CURL_FUNCTIONS(RUSTIMG_CURL_BIND)
#undef RUSTIMG_CURL_BIND
  return api;
}

CurlApi load_curl() {
  CurlApi api = bind_curl();
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw Error(ErrorCode::Generic, std::string(kLibcurl) + " failed to initialise (curl_global_init)");
  return api;
}

/// The loaded API; the first call loads it (thread-safe; a failed load is
/// retried by the next call).
const CurlApi& curl() {
  static const CurlApi api = load_curl();
  return api;
}

struct CallState {
  CURL* handle = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  std::exception_ptr error;
  bool too_big = false;
  bool cancelled = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<CallState*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    st->resp->headers.clear();  // a new response (e.g. after 100 Continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    st->resp->headers.emplace_back(to_lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  return size * n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<CallState*>(user);
  std::size_t len = size * n;
  try {
    long status = 0;
    curl().easy_getinfo(st->handle, CURLINFO_RESPONSE_CODE, &status);
    if (st->req->on_body && status >= 200 && status < 300) {
      st->req->on_body(data, len);
    } else {
      if (st->resp->body.size() + len > st->req->max_body) {
        st->too_big = true;
        return 0;
      }
      st->resp->body.append(data, len);
    }
  } catch (...) {
    st->error = std::current_exception();
    return 0;
  }
  return len;
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* st = static_cast<CallState*>(user);
  try {
    return st->req->body ? st->req->body(buf, size * n) : 0;
  } catch (...) {
    st->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

/// Called by libcurl at least once a second, also while nothing moves.
int on_xferinfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<CallState*>(user);
  try {
    if (st->req->cancelled && st->req->cancelled()) {
      st->cancelled = true;
      return 1;
    }
  } catch (...) {
    st->error = std::current_exception();
    return 1;
  }
  return 0;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl().easy_cleanup(c); }
};

// One easy handle per thread keeps connections alive between requests.
std::unique_ptr<CURL, EasyDeleter>& thread_handle_slot() {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle;
  return handle;
}

CURL* thread_handle() {
  auto& handle = thread_handle_slot();
  if (!handle) {
    handle.reset(curl().easy_init());
    if (!handle) throw Error(ErrorCode::Generic, "libcurl could not create a handle (out of memory?)");
  } else {
    curl().easy_reset(handle.get());
  }
  return handle.get();
}

std::string host_of(const std::string& url) { return split_url(url).authority; }

/// `reused`: the request went over a kept-alive connection, where a garbled
/// or empty reply means the connection went stale, not that the server
/// speaks another protocol.
[[noreturn]] void throw_curl(CURLcode rc, const char* errbuf, const HttpRequest& req, long os_errno, bool reused) {
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl().easy_strerror(rc));
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
  const std::string host = host_of(req.url);
  const std::string what = req.method + " " + url_for_log(req.url);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      throw TransportFailure(FailureKind::Resolve,
                             "cannot resolve host \"" + authority_host(host) + "\" (" + what + "): " + detail +
                                 ". Check the registry name in the image reference, DNS, and proxy settings",
                             false);
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw TransportFailure(FailureKind::Resolve,
                             "cannot resolve the proxy host for " + host + ": " + detail +
                                 ". Check HTTP_PROXY/HTTPS_PROXY/NO_PROXY",
                             false);
    case CURLE_COULDNT_CONNECT: {
      bool refused = os_errno == ECONNREFUSED || detail.find("refused") != std::string::npos;
      throw TransportFailure(refused ? FailureKind::Refused : FailureKind::Connect,
                             std::string(refused ? "connection refused by " : "cannot connect to ") + host + " (" +
                                 what + "): " + detail +
                                 ". Check that the registry is running and listening on that host and port, "
                                 "and the port in the image reference",
                             !refused);
    }
    case CURLE_OPERATION_TIMEDOUT:
      throw TransportFailure(FailureKind::Timeout,
                             "timed out talking to " + host + " (" + what + "): " + detail +
                                 (req.timeout.count() > 0
                                      ? " (the limit is " + std::to_string(req.timeout.count()) +
                                            " s for the request and " + std::to_string(req.low_speed_timeout.count()) +
                                            " s below " + std::to_string(kStallBytesPerSecond) + " bytes/s)"
                                      : " (the limit is " + std::to_string(req.low_speed_timeout.count()) +
                                            " s below " + std::to_string(kStallBytesPerSecond) + " bytes/s)") +
                                 "; the registry options request_timeout / stall_timeout (--timeout, "
                                 "--stall-timeout) set these",
                             true);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      throw TransportFailure(
          FailureKind::TlsVerify,
          "the TLS certificate of " + host + " could not be verified: " + detail +
              ". Check that the host name matches the certificate, and pass the CA that signed it "
              "(a CA bundle file: the ca_file option / --ca-file)" +
              (req.ca_file.empty() ? std::string() : " - the CA file used was " + req.ca_file) +
              "; only for a test registry, name it insecure",
          false);
    case CURLE_SSL_CONNECT_ERROR:
      throw TransportFailure(FailureKind::Tls,
                             "TLS handshake with " + host + " failed: " + detail +
                                 ". Check that the registry serves HTTPS on that port (a plain-HTTP registry must "
                                 "be named insecure) and that the CA file is valid",
                             false);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
      if (reused)
        throw TransportFailure(FailureKind::Dropped,
                               "garbled reply from " + host + " on a kept-alive connection (" + what + "): " + detail,
                               true);
      throw TransportFailure(FailureKind::PlainHttpReply,
                             "unexpected reply from " + host + " (" + what + "): " + detail +
                                 ". Check whether the registry speaks HTTPS or HTTP on that port",
                             false);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_FAIL_REWIND:  // a reused connection died while sending a body
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      throw TransportFailure(FailureKind::Dropped,
                             "connection to " + host + " dropped during " + what + ": " + detail, true);
    default:
      throw TransportFailure(FailureKind::Other, "request " + what + " to " + host + " failed: " + detail,
                             false);
  }
}

class CurlTransport final : public Transport {
 public:
  CurlTransport() {
    curl();  // load libcurl now: a missing libcurl is an error here, not mid-push
  }

  HttpResponse perform(const HttpRequest& req) override {
    const CurlApi& api = curl();
    CURL* c = thread_handle();
    HttpResponse resp;
    CallState st;
    st.handle = c;
    st.req = &req;
    st.resp = &resp;
    char errbuf[CURL_ERROR_SIZE] = {0};

    api.easy_setopt(c, CURLOPT_URL, req.url.c_str());
    api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout.count()));
    api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kStallBytesPerSecond);
    api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.low_speed_timeout.count()));
    api.easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(req.timeout.count()));
    api.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    api.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    api.easy_setopt(c, CURLOPT_XFERINFODATA, &st);
    api.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
    api.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
    if (!req.ca_file.empty()) api.easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
    // libcurl reads http_proxy only in lower case (a CGI precaution); honour
    // HTTP_PROXY as well, like Go's ProxyFromEnvironment, outside CGI.
    // NO_PROXY still applies: libcurl checks it for explicit proxies too.
    const char* upper_proxy = std::getenv("HTTP_PROXY");
    if (req.url.rfind("http://", 0) == 0 && std::getenv("http_proxy") == nullptr && upper_proxy != nullptr &&
        *upper_proxy != '\0' && std::getenv("REQUEST_METHOD") == nullptr)
      api.easy_setopt(c, CURLOPT_PROXY, upper_proxy);
    api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    api.easy_setopt(c, CURLOPT_HEADERDATA, &st);
    api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    api.easy_setopt(c, CURLOPT_WRITEDATA, &st);

    if (req.method == "HEAD") {
      api.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.method != "GET") {
      api.easy_setopt(c, CURLOPT_UPLOAD, 1L);
      api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      api.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
      api.easy_setopt(c, CURLOPT_READDATA, &st);
      if (req.body_size >= 0)
        api.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    }

    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers) headers = api.slist_append(headers, (k + ": " + v).c_str());
    headers = api.slist_append(headers, "Expect:");
    api.easy_setopt(c, CURLOPT_HTTPHEADER, headers);

    CURLcode rc = api.easy_perform(c);
    api.slist_free_all(headers);
    api.easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    if (rc != CURLE_OK) {
      long os_errno = 0;
      long connects = 0;
      api.easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
      api.easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
      // Whatever went wrong, the next request starts on a fresh connection.
      thread_handle_slot().reset();
      if (st.error) std::rethrow_exception(st.error);
      if (st.cancelled)
        throw Error(ErrorCode::Cancelled, "cancelled during " + req.method + " " + url_for_log(req.url));
      if (st.too_big)
        throw TransportFailure(FailureKind::Other,
                               "the response to " + req.method + " " + url_for_log(req.url) + " exceeds " +
                                   std::to_string(req.max_body >> 10) + " KiB; refusing to read more",
                               false);
      throw_curl(rc, errbuf, req, os_errno, connects == 0);
    }
    if (st.error) std::rethrow_exception(st.error);
    long status = 0;
    api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    resp.status = static_cast<int>(status);
    return resp;
  }
};

}  // namespace

std::shared_ptr<Transport> make_curl_transport() { return std::make_shared<CurlTransport>(); }

}  // namespace rustimg::registry
