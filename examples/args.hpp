// A small command-line parser shared by the examples: `--name value` options bound to
// variables whose initial values are the defaults, and `--help`.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace prism::examples {

class ArgParser {
 public:
  using Target = std::variant<std::string*, int64_t*, double*>;

  ArgParser(std::string program, std::string description)
      : program_(std::move(program)), description_(std::move(description)) {}

  void add(std::string name, Target target, std::string help) {
    options_.push_back({std::move(name), target, std::move(help)});
  }

  // Returns false when --help was asked for (and printed). Bad input throws prism::Error.
  bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        print_help(std::cout);
        return false;
      }
      const Option* option = find(arg);
      PRISM_CHECK(option, program_ << ": unknown option '" << arg << "' (see --help)");
      PRISM_CHECK(i + 1 < argc, program_ << ": option " << arg << " needs a value");
      set(*option, argv[++i]);
    }
    return true;
  }

  void print_help(std::ostream& out) const {
    out << "usage: " << program_ << " [options]\n\n" << description_ << "\n\noptions:\n";
    for (const Option& o : options_) {
      std::string flag = "  --" + o.name + " " + value_name(o.target);
      flag.resize(std::max<size_t>(flag.size() + 2, 28), ' ');
      out << flag << o.help << " (default: " << current(o.target) << ")\n";
    }
    out << "  --help                    show this message\n";
  }

 private:
  struct Option {
    std::string name;
    Target target;
    std::string help;
  };

  const Option* find(const std::string& arg) const {
    for (const Option& o : options_)
      if (arg == "--" + o.name) return &o;
    return nullptr;
  }

  void set(const Option& o, const std::string& text) const {
    if (auto* s = std::get_if<std::string*>(&o.target)) {
      **s = text;
      return;
    }
    char* end = nullptr;
    errno = 0;
    if (auto* i = std::get_if<int64_t*>(&o.target)) {
      const long long v = std::strtoll(text.c_str(), &end, 10);
      PRISM_CHECK(!text.empty() && *end == '\0' && errno == 0,
                  program_ << ": --" << o.name << " wants an integer, got '" << text << "'");
      **i = v;
    } else {
      const double v = std::strtod(text.c_str(), &end);
      PRISM_CHECK(!text.empty() && *end == '\0' && errno == 0,
                  program_ << ": --" << o.name << " wants a number, got '" << text << "'");
      *std::get<double*>(o.target) = v;
    }
  }

  static std::string value_name(const Target& t) {
    return std::holds_alternative<std::string*>(t) ? "S"
           : std::holds_alternative<int64_t*>(t)   ? "N"
                                                   : "X";
  }
  static std::string current(const Target& t) {
    return std::visit(
        [](auto* p) {
          std::ostringstream s;
          s << *p;
          return s.str();
        },
        t);
  }

  std::string program_, description_;
  std::vector<Option> options_;
};

}  // namespace prism::examples
