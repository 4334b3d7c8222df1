// The three things Node cannot do by itself (DESIGN §3, §3.1): read the kernel's credentials for the peer of a Unix
// stream socket, ask the kernel which uid owns the client end of a loopback TCP connection (NETLINK_SOCK_DIAG), and
// send one sd_notify datagram — including to an abstract (`@name`) NOTIFY_SOCKET, which needs an exact address length
// that no datagram library on npm gets right.
//
// Every failure throws an Error carrying a stable string `code` (and `errno` + `syscall` when the kernel refused);
// no path returns a guessed or default value, and nothing here can abort the process.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // struct ucred (g++ already defines it on glibc; the guard avoids a redefinition warning)
#endif

#include <napi.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__linux__) || defined(__APPLE__)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#define SENTINEL_POSIX 1
#endif
#if defined(__linux__)
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/uio.h>
#endif
#if defined(__APPLE__)
#include <sys/ucred.h>
#endif

namespace {

enum class Kind { Plain, Type, Range };

// Throws and returns undefined so call sites can `return Fail(...)`. `err` is the positive C errno value (the
// numbers in os.constants.errno), not libuv's negated form.
Napi::Value Fail(Napi::Env env, Kind kind, const char* code, std::string message, const char* syscall = nullptr,
                 int err = 0) {
  if (err != 0) message += std::string(": ") + std::strerror(err);
  Napi::Error error = kind == Kind::Type    ? Napi::TypeError::New(env, message)
                      : kind == Kind::Range ? Napi::RangeError::New(env, message)
                                            : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  if (syscall != nullptr) error.Set("syscall", Napi::String::New(env, syscall));
  if (err != 0) error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadFd(const Napi::CallbackInfo& info, int* fd) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Fail(env, Kind::Type, "ERR_INVALID_FD", "peerCredentials(fd): fd must be a number");
    return false;
  }
  double value = info[0].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(value) || std::trunc(value) != value) {
    Fail(env, Kind::Type, "ERR_INVALID_FD", "peerCredentials(fd): fd must be an integer");
    return false;
  }
  if (value < 0 || value > INT_MAX) {
    Fail(env, Kind::Range, "ERR_INVALID_FD", "peerCredentials(fd): fd must be between 0 and 2147483647");
    return false;
  }
  *fd = static_cast<int>(value);
  return true;
}

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!ReadFd(info, &fd)) return env.Undefined();
#ifdef SENTINEL_POSIX
  // SO_PEERCRED answers for sockets that have no Unix peer too (TCP: pid 0, uid -1; a listening socket: the
  // listener's own credentials), so the socket's kind is established first: those answers would be wrong, not absent.
  sockaddr_storage local;
  std::memset(&local, 0, sizeof local);
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot inspect the file descriptor", "getsockname", errno);
  }
  int type = 0;
  len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot read the socket type", "getsockopt", errno);
  }
  if (local.ss_family != AF_UNIX || type != SOCK_STREAM) {
    return Fail(env, Kind::Plain, "ERR_NOT_UNIX_STREAM",
                "not a Unix stream socket, so the kernel holds no peer credentials for it");
  }
  int listening = 0;
  len = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
    // Older macOS kernels do not answer SO_ACCEPTCONN; there LOCAL_PEERCRED itself refuses a listener (ENOTCONN).
    if (errno != ENOPROTOOPT) {
      return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot tell whether the socket listens", "getsockopt",
                  errno);
    }
    listening = 0;
  }
  if (listening != 0) {
    return Fail(env, Kind::Plain, "ERR_SOCKET_LISTENING", "a listening socket has no peer");
  }

  double pid = 0, uid = 0, gid = 0;
#if defined(__linux__)
  struct ucred cred;
  std::memset(&cred, 0, sizeof cred);
  len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot read the peer credentials", "getsockopt(SO_PEERCRED)",
                errno);
  }
  // The kernel reports uid/gid -1 when the socket never had a peer (not connected).
  if (len != sizeof cred || cred.uid == static_cast<uid_t>(-1) || cred.gid == static_cast<gid_t>(-1)) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_UNAVAILABLE", "the kernel holds no credentials for this socket's peer");
  }
  pid = cred.pid;
  uid = cred.uid;
  gid = cred.gid;
#elif defined(__APPLE__)
  struct xucred xu;
  std::memset(&xu, 0, sizeof xu);
  len = sizeof xu;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xu, &len) != 0) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot read the peer credentials",
                "getsockopt(LOCAL_PEERCRED)", errno);
  }
  if (len != sizeof xu || xu.cr_version != XUCRED_VERSION || xu.cr_ngroups < 1) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_UNAVAILABLE", "the kernel holds no credentials for this socket's peer");
  }
  pid_t peer_pid = 0;
  len = sizeof peer_pid;
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &peer_pid, &len) != 0) {
    return Fail(env, Kind::Plain, "ERR_PEERCRED_SYSCALL", "cannot read the peer pid", "getsockopt(LOCAL_PEERPID)",
                errno);
  }
  pid = peer_pid;
  uid = xu.cr_uid;
  gid = xu.cr_groups[0];  // the effective gid
#endif
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("uid", Napi::Number::New(env, uid));
  out.Set("gid", Napi::Number::New(env, gid));
  return out;
#else
  return Fail(env, Kind::Plain, "ERR_UNSUPPORTED_PLATFORM", "peer credentials are implemented for Linux and macOS only");
#endif
}

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    return Fail(env, Kind::Type, "ERR_INVALID_ARG_TYPE", "sdNotify(socketPath, message) takes two strings");
  }
  std::string address = info[0].As<Napi::String>().Utf8Value();
  std::string message = info[1].As<Napi::String>().Utf8Value();
  if (message.empty()) {
    return Fail(env, Kind::Range, "ERR_NOTIFY_MESSAGE", "sdNotify: the message is empty");
  }
#ifdef SENTINEL_POSIX
  if (address.empty()) {
    return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET is empty");
  }
  if (address.find('\0') != std::string::npos) {
    return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET contains a NUL byte");
  }
  sockaddr_un sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  socklen_t salen = 0;
  if (address[0] == '@') {
#if defined(__linux__)
    // Abstract name: a leading NUL, and the address length counts exactly the name's bytes — padding would
    // address a different socket (that is the bug that makes unix-dgram answer ECONNREFUSED).
    size_t n = address.size() - 1;
    if (n == 0) return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET abstract name is empty");
    if (n > sizeof(sa.sun_path) - 1) {
      return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET abstract name is too long for sun_path");
    }
    std::memcpy(sa.sun_path + 1, address.data() + 1, n);
    salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
#else
    return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "abstract socket names (@...) exist only on Linux");
#endif
  } else if (address[0] == '/') {
    size_t n = address.size();
    if (n > sizeof(sa.sun_path) - 1) {
      return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET path is too long for sun_path");
    }
    std::memcpy(sa.sun_path, address.data(), n);
    salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n + 1);
  } else {
    // systemd itself accepts only these two forms.
    return Fail(env, Kind::Range, "ERR_NOTIFY_ADDRESS", "NOTIFY_SOCKET must be an absolute path or an @abstract name");
  }
#if defined(__APPLE__)
  sa.sun_len = static_cast<unsigned char>(salen);
#endif

#if defined(__linux__)
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // DONTWAIT: a stalled receiver must not freeze the daemon's event loop; a full queue surfaces as EAGAIN instead.
  const int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
#else
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd >= 0) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  }
  const int flags = MSG_DONTWAIT;
#endif
  if (fd < 0) {
    return Fail(env, Kind::Plain, "ERR_NOTIFY_SEND", "cannot create a datagram socket", "socket", errno);
  }
  ssize_t sent;
  do {
    sent = sendto(fd, message.data(), message.size(), flags, reinterpret_cast<const sockaddr*>(&sa), salen);
  } while (sent < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (sent < 0) {
    return Fail(env, Kind::Plain, "ERR_NOTIFY_SEND", "sendto(NOTIFY_SOCKET " + address + ") failed", "sendto", err);
  }
  if (static_cast<size_t>(sent) != message.size()) {
    return Fail(env, Kind::Plain, "ERR_NOTIFY_SEND", "sendto(NOTIFY_SOCKET " + address + ") sent a truncated datagram");
  }
  return env.Undefined();
#else
  return Fail(env, Kind::Plain, "ERR_UNSUPPORTED_PLATFORM", "sd_notify is implemented for Linux and macOS only");
#endif
}

// One end of a TCP connection: its address in network order (the first 4 bytes for AF_INET) and its port.
struct TcpEnd {
  int family = 0;
  unsigned char address[16] = {};
  uint16_t port = 0;
};

bool ReadTcpEnd(const Napi::CallbackInfo& info, size_t at, const char* name, TcpEnd* end) {
  Napi::Env env = info.Env();
  const std::string what = std::string("tcpConnectionOwner: the ") + name;
  if (!info[at].IsString()) {
    Fail(env, Kind::Type, "ERR_INVALID_ARG_TYPE", what + " address must be a string");
    return false;
  }
  std::string text = info[at].As<Napi::String>().Utf8Value();
#ifdef SENTINEL_POSIX
  // inet_pton stops at a NUL, so "127.0.0.1\0anything" would otherwise pass for 127.0.0.1.
  const bool plausible = text.size() < INET6_ADDRSTRLEN && text.find('\0') == std::string::npos;
  if (plausible && inet_pton(AF_INET, text.c_str(), end->address) == 1) {
    end->family = AF_INET;
  } else if (plausible && inet_pton(AF_INET6, text.c_str(), end->address) == 1) {
    end->family = AF_INET6;
  } else {
    Fail(env, Kind::Type, "ERR_INVALID_ARG_VALUE", what + " address is not an IPv4 or IPv6 address");
    return false;
  }
#else
  (void)text;
#endif
  if (!info[at + 1].IsNumber()) {
    Fail(env, Kind::Type, "ERR_INVALID_ARG_TYPE", what + " port must be a number");
    return false;
  }
  double port = info[at + 1].As<Napi::Number>().DoubleValue();
  // Port 0 never names a connected socket.
  if (!std::isfinite(port) || std::trunc(port) != port || port < 1 || port > 65535) {
    Fail(env, Kind::Type, "ERR_INVALID_ARG_VALUE", what + " port must be an integer between 1 and 65535");
    return false;
  }
  end->port = static_cast<uint16_t>(port);
  return true;
}

#if defined(__linux__)
constexpr uint8_t kTcpEstablished = 1;  // include/net/tcp_states.h, which is not part of the uapi headers

// errno values that mean this kernel, or the sandbox around the daemon, offers no TCP sock_diag at all, as opposed to
// a failed lookup: no NETLINK_SOCK_DIAG, inet_diag or tcp_diag not built (the handler tables answer ENOENT), or a
// seccomp/LSM policy that refuses the socket or the request.
bool MeansUnsupported(int err) {
  switch (err) {
    case ENOENT:
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case ESOCKTNOSUPPORT:
    case EOPNOTSUPP:
    case EINVAL:
    case EPERM:
    case EACCES:
      return true;
    default:
      return false;
  }
}

// A fresh socket per lookup: nothing is shared between calls or threads, and no answer to an earlier request can be
// waiting in it.
class DiagSocket {
 public:
  DiagSocket() : fd_(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)), err_(fd_ < 0 ? errno : 0) {}
  ~DiagSocket() {
    if (fd_ >= 0) close(fd_);
  }
  DiagSocket(const DiagSocket&) = delete;
  DiagSocket& operator=(const DiagSocket&) = delete;
  int fd() const { return fd_; }
  int error() const { return err_; }

 private:
  int fd_;
  int err_;
};

struct DiagRequest {
  nlmsghdr header;
  inet_diag_req_v2 body;
};
static_assert(sizeof(DiagRequest) == NLMSG_LENGTH(sizeof(inet_diag_req_v2)), "the body follows the header unpadded");

DiagRequest NewRequest(int family, uint32_t seq, uint16_t flags) {
  DiagRequest request;
  std::memset(&request, 0, sizeof request);
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  request.header.nlmsg_seq = seq;
  request.body.sdiag_family = static_cast<uint8_t>(family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  return request;
}

// The one message the kernel answers a request with.
struct Reply {
  enum class Kind { Socket, Error, Done } kind = Kind::Error;
  inet_diag_msg socket;
  int err = 0;  // positive errno of an Error, or of a Done that ended a failed dump
};

// Reads one answer, trusting none of its sizes. EBADMSG unless it is exactly one well-formed message for `seq`.
int ParseReply(const unsigned char* bytes, int length, uint32_t seq, Reply* reply) {
  const nlmsghdr* header = reinterpret_cast<const nlmsghdr*>(bytes);
  if (!NLMSG_OK(header, length)) return EBADMSG;
  // One request, one answer: a second message would leave it ambiguous which one to believe.
  if (NLMSG_ALIGN(header->nlmsg_len) < static_cast<uint32_t>(length)) return EBADMSG;
  if (header->nlmsg_seq != seq) return EBADMSG;
  const uint32_t payload = header->nlmsg_len - NLMSG_HDRLEN;
  const void* data = NLMSG_DATA(header);
  std::memset(&reply->socket, 0, sizeof reply->socket);
  switch (header->nlmsg_type) {
    case SOCK_DIAG_BY_FAMILY:
      if (payload < sizeof(inet_diag_msg)) return EBADMSG;
      std::memcpy(&reply->socket, data, sizeof(inet_diag_msg));
      reply->kind = Reply::Kind::Socket;
      reply->err = 0;
      return 0;
    case NLMSG_ERROR: {
      nlmsgerr error;
      if (payload < sizeof error) return EBADMSG;
      std::memcpy(&error, data, sizeof error);
      if (error.error >= 0) return EBADMSG;  // an acknowledgement, which was not asked for
      reply->kind = Reply::Kind::Error;
      reply->err = -error.error;
      return 0;
    }
    case NLMSG_DONE: {
      int status;
      if (payload < sizeof status) return EBADMSG;
      std::memcpy(&status, data, sizeof status);
      if (status > 0) return EBADMSG;
      reply->kind = Reply::Kind::Done;
      reply->err = -status;
      return 0;
    }
    default:
      return EBADMSG;
  }
}

// Sends one request and reads its answer. The kernel handles a sock_diag request inside sendto() and has queued its
// whole answer by the time sendto() returns, so the answer is read without waiting: an answer that is not there is a
// failure (EAGAIN), never a daemon whose event loop hangs in recvmsg().
int Exchange(int fd, const DiagRequest& request, Reply* reply) {
  sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd, &request, sizeof request, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return errno;
  if (static_cast<size_t>(sent) != sizeof request) return EBADMSG;

  // One socket's answer without extensions is a few hundred bytes; anything that does not fit is refused (MSG_TRUNC).
  alignas(nlmsghdr) unsigned char buffer[8192];
  sockaddr_nl from;
  std::memset(&from, 0, sizeof from);
  iovec iov = {buffer, sizeof buffer};
  msghdr message;
  std::memset(&message, 0, sizeof message);
  message.msg_name = &from;
  message.msg_namelen = sizeof from;
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  ssize_t received;
  do {
    received = recvmsg(fd, &message, MSG_DONTWAIT);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return errno;
  // Only the kernel (port id 0) speaks for the socket table.
  if ((message.msg_flags & MSG_TRUNC) != 0 || message.msg_namelen != sizeof from || from.nl_family != AF_NETLINK ||
      from.nl_pid != 0) {
    return EBADMSG;
  }
  return ParseReply(buffer, static_cast<int>(received), request.header.nlmsg_seq, reply);
}

enum class Support { Yes, No, Unknown };

// Whether this kernel answers TCP sock_diag requests for `family` at all, which an exact lookup alone cannot tell: a
// missing inet_diag or tcp_diag and a missing socket both answer ENOENT. A dump of no states (idiag_states = 0) goes
// through the same handlers and finds nothing by construction, without walking the socket table.
Support ProbeSupport(int fd, int family, uint32_t seq, int* err) {
  Reply reply;
  int e = Exchange(fd, NewRequest(family, seq, NLM_F_DUMP), &reply);
  if (e == 0 && reply.kind == Reply::Kind::Done && reply.err == 0) return Support::Yes;
  if (e == 0) e = reply.kind == Reply::Kind::Socket ? EBADMSG : reply.err;
  *err = e;
  return MeansUnsupported(e) ? Support::No : Support::Unknown;
}

// 16 bytes, IPv4 as ::ffff:a.b.c.d. Asked with two mapped addresses (what a dual-stack listener sees), the kernel looks
// the connection up as IPv4 and answers for an AF_INET socket, so question and answer are compared in this form.
void AsMapped(int family, const void* address, unsigned char out[16]) {
  if (family == AF_INET) {
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, address, 4);
  } else {
    std::memcpy(out, address, 16);
  }
}

bool SameAddress(int family, const void* address, const TcpEnd& end) {
  unsigned char a[16];
  unsigned char b[16];
  AsMapped(family, address, a);
  AsMapped(end.family, end.address, b);
  return std::memcmp(a, b, sizeof a) == 0;
}

// The kernel's lookup falls back to a listening socket on the client's address and port, and also finds TIME_WAIT
// and SYN_RECV sockets, which it reports with uid 0: only the ESTABLISHED socket with exactly the asked-for ends is
// the client.
bool IsClientSocket(const inet_diag_msg& socket, const TcpEnd& client, const TcpEnd& server) {
  const int family = socket.idiag_family;
  return (family == AF_INET || family == AF_INET6) && socket.idiag_state == kTcpEstablished &&
         socket.id.idiag_sport == htons(client.port) && socket.id.idiag_dport == htons(server.port) &&
         SameAddress(family, socket.id.idiag_src, client) && SameAddress(family, socket.id.idiag_dst, server);
}

struct Owner {
  enum class Kind { Found, NotFound, Unsupported, Failed } kind;
  uint32_t uid;
  int err;
  const char* syscall;
};

// inet_diag_find_one_icsk() in the kernel: one hash lookup of the 4-tuple, whatever the size of the socket table.
Owner LookUpOwner(const TcpEnd& client, const TcpEnd& server) {
  DiagSocket diag;
  if (diag.fd() < 0) {
    if (MeansUnsupported(diag.error())) return {Owner::Kind::Unsupported, 0, diag.error(), "socket"};
    return {Owner::Kind::Failed, 0, diag.error(), "socket(NETLINK_SOCK_DIAG)"};
  }
  DiagRequest request = NewRequest(client.family, 1, 0);
  request.body.idiag_states = 1u << kTcpEstablished;
  // The client's socket sees itself as the source and us as the destination.
  const size_t length = client.family == AF_INET ? 4 : 16;
  request.body.id.idiag_sport = htons(client.port);
  request.body.id.idiag_dport = htons(server.port);
  std::memcpy(request.body.id.idiag_src, client.address, length);
  std::memcpy(request.body.id.idiag_dst, server.address, length);
  Reply reply;
  int err = Exchange(diag.fd(), request, &reply);
  if (err != 0) {
    if (MeansUnsupported(err)) return {Owner::Kind::Unsupported, 0, err, "sendto"};
    return {Owner::Kind::Failed, 0, err, "sock_diag"};
  }
  if (reply.kind == Reply::Kind::Socket) {
    if (!IsClientSocket(reply.socket, client, server)) return {Owner::Kind::NotFound, 0, 0, nullptr};
    return {Owner::Kind::Found, reply.socket.idiag_uid, 0, nullptr};
  }
  if (reply.kind != Reply::Kind::Error) return {Owner::Kind::Failed, 0, EBADMSG, "sock_diag"};
  int probeErr = 0;
  switch (ProbeSupport(diag.fd(), client.family, 2, &probeErr)) {
    case Support::Yes:
      if (reply.err == ENOENT) return {Owner::Kind::NotFound, 0, 0, nullptr};
      return {Owner::Kind::Failed, 0, reply.err, "sock_diag"};
    case Support::No:
      return {Owner::Kind::Unsupported, 0, probeErr, "sock_diag"};
    case Support::Unknown:
    default:
      return {Owner::Kind::Failed, 0, probeErr, "sock_diag"};
  }
}
#endif

Napi::Value TcpConnectionOwner(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TcpEnd client;
  TcpEnd server;
  if (!ReadTcpEnd(info, 0, "client", &client) || !ReadTcpEnd(info, 2, "server", &server)) return env.Undefined();
  if (client.family != server.family) {
    return Fail(env, Kind::Type, "ERR_INVALID_ARG_VALUE",
                "tcpConnectionOwner: the client and server addresses must be of one family (a dual-stack listener "
                "sees an IPv4 client as ::ffff:a.b.c.d on both ends)");
  }
#if defined(__linux__)
  const Owner owner = LookUpOwner(client, server);
  switch (owner.kind) {
    case Owner::Kind::Found:
      return Napi::Number::New(env, owner.uid);
    case Owner::Kind::NotFound:
      return Napi::String::New(env, "not-found");
    case Owner::Kind::Unsupported:
      return Napi::String::New(env, "unsupported");
    case Owner::Kind::Failed:
    default:
      return Fail(env, Kind::Plain, "ERR_SOCK_DIAG", "the kernel could not be asked who owns a TCP connection",
                  owner.syscall, owner.err);
  }
#else
  return Napi::String::New(env, "unsupported");
#endif
}

Napi::Value TcpConnectionOwnerSupported(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__linux__)
  DiagSocket diag;
  if (diag.fd() < 0) {
    if (MeansUnsupported(diag.error())) return Napi::Boolean::New(env, false);
    return Fail(env, Kind::Plain, "ERR_SOCK_DIAG", "cannot open a sock_diag netlink socket",
                "socket(NETLINK_SOCK_DIAG)", diag.error());
  }
  int err = 0;
  switch (ProbeSupport(diag.fd(), AF_INET, 1, &err)) {
    case Support::Yes:
      return Napi::Boolean::New(env, true);
    case Support::No:
      return Napi::Boolean::New(env, false);
    case Support::Unknown:
    default:
      return Fail(env, Kind::Plain, "ERR_SOCK_DIAG", "the kernel did not answer a sock_diag probe", "sock_diag", err);
  }
#else
  return Napi::Boolean::New(env, false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("tcpConnectionOwner", Napi::Function::New(env, TcpConnectionOwner, "tcpConnectionOwner"));
  exports.Set("tcpConnectionOwnerSupported",
              Napi::Function::New(env, TcpConnectionOwnerSupported, "tcpConnectionOwnerSupported"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sentinel_native, Init)
