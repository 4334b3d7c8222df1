// The two things Node cannot do by itself (DESIGN §3, §3.1): read the kernel's credentials for the peer of a Unix
// stream socket, and send one sd_notify datagram — including to an abstract (`@name`) NOTIFY_SOCKET, which needs an
// exact address length that no datagram library on npm gets right.
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
#include <cstring>
#include <string>

#if defined(__linux__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#define SENTINEL_POSIX 1
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sentinel_native, Init)
