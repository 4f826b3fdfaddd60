# Writes OUTPUT, the /etc/eastwatch/eastwatch.yaml of the .deb: INPUT (config/eastwatch.yaml,
# the documented default) with the service's paths. RULE_FILES: the bundled *.rules names
# (;-separated), all enabled. Every substitution must match exactly once, so a change of
# config/eastwatch.yaml that the package does not follow fails the build instead of shipping
# a config that points elsewhere.
file(READ ${INPUT} text)

function(substitute pattern replacement what)
  string(REGEX MATCHALL "${pattern}" hits "${text}")
  list(LENGTH hits count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "packaged_config: ${INPUT}: ${what}: expected one match of '${pattern}', found ${count}")
  endif()
  string(REGEX REPLACE "${pattern}" "${replacement}" result "${text}")
  set(text "${result}" PARENT_SCOPE)
endfunction()

function(require pattern what)
  string(REGEX MATCHALL "${pattern}" hits "${text}")
  list(LENGTH hits count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "packaged_config: ${INPUT}: ${what}: the unit (packaging/systemd/eastwatch.service) expects it")
  endif()
endfunction()

set(rule_list "")
foreach(name IN LISTS RULE_FILES)
  string(APPEND rule_list "  - ${name}\n")
endforeach()
string(APPEND rule_list "  - /etc/eastwatch/rules/local.rules  # your own rules (a conffile, empty)\n")

substitute("\n---\n" "\n---\n# Installed by the eastwatch package as /etc/eastwatch/eastwatch.yaml (a conffile: upgrades\n# keep your edits): config/eastwatch.yaml with the service's paths. Bundled rules in\n# /usr/share/eastwatch/rules, your own in /etc/eastwatch/rules/local.rules, tuning in\n# /etc/eastwatch/threshold.config, Hyperscan cache in /var/cache/eastwatch. Set\n# capture.interfaces (the mirror NIC) and sensor.name, then: systemctl restart eastwatch\n" "header")
substitute("\ndefault-rule-path: [^\n]*" "\ndefault-rule-path: /usr/share/eastwatch/rules" "default-rule-path")
substitute("\nrule-files:\n(  - [^\n]*\n)+" "\nrule-files:\n${rule_list}" "rule-files")
substitute("\nclassification-file: \"\"" "\nclassification-file: /usr/share/eastwatch/rules/classification.config" "classification-file")
substitute("\nreference-config-file: \"\"" "\nreference-config-file: /usr/share/eastwatch/rules/reference.config" "reference-config-file")
substitute("\nthreshold-file: \"\"" "\nthreshold-file: /etc/eastwatch/threshold.config" "threshold-file")
substitute("\n  hs-cache-dir: \"\"" "\n  hs-cache-dir: /var/cache/eastwatch" "detect.hs-cache-dir")
require("\ndefault-log-dir: /var/log/eastwatch\n" "default-log-dir /var/log/eastwatch (LogsDirectory=)")
require("\n  dir: /var/spool/eastwatch " "spool.dir /var/spool/eastwatch (ReadWritePaths=)")

file(WRITE ${OUTPUT} "${text}")
