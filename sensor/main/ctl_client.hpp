// `eastwatch ctl [--socket PATH | -c FILE] COMMAND`: the control socket's client.
// Sends {"command": COMMAND} and prints the reply's message (a string as text, anything else
// as its JSON). Exit code: 0 OK, 1 NOK (the message says why), 2 cannot connect or bad usage.
#pragma once

namespace eastwatch {

// The socket path without --socket or -c (control.socket's default).
inline constexpr const char* kDefaultControlSocket = "/run/eastwatch/eastwatch.sock";

// argv[0] is "ctl".
int run_ctl(int argc, const char* const* argv);

}  // namespace eastwatch
