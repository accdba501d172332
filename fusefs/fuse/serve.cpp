#include "fusefs/fuse/serve.h"

#include "base/log.h"
#include "fusefs/fuse/hangup.h"

namespace cardfs::fuse {

Status serve_fuse(const ServeOptions& o, const fuse_lowlevel_ops& ops, void* userdata,
                  StartupReport& report) {
  auto session = FuseSession::mount(o.mountpoint, o.kernel_options, ops, userdata, o.debug);
  if (!session.is_ok()) {
    report.fail(session.status());
    return session.status();
  }
  if (o.on_mounted) o.on_mounted((*session)->raw());
  // After the session's handlers: this one replaces libfuse's SIGHUP.
  std::unique_ptr<HangupHandler> hangup;
  if (o.on_hangup) {
    auto h = HangupHandler::install(o.on_hangup);
    if (h.is_ok())
      hangup = std::move(*h);
    else
      logger("fuse")->warn("SIGHUP will end the daemon: {}", h.status().to_string());
  }
  report.ready();
  Status served = (*session)->serve(o.threads);
  hangup.reset();    // a SIGHUP from here on is ignored
  session->reset();  // unmounts if a signal ended the loop
  if (!served.is_ok()) logger("fuse")->error("{}", served.to_string());
  return served;
}

}  // namespace cardfs::fuse
