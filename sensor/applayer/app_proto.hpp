// Application-layer protocols: the enum lives with the rule language, which names them too.
#pragma once

#include "signatures/app_proto.hpp"
