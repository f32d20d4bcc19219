// tests/toolchain/hello.cpp - hello world from emscripten's C++ (libc++,
// its own musl): prints the arguments, one variable and then the whole
// environment, and echoes standard input upper-cased. run.sh compares the
// output line for line.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

extern char **environ;

// Run before main by __wasm_call_ctors: a C++ static constructor.
static std::string greeting_prefix = std::string("hello") + " from emscripten";

int main(int argc, char **argv)
{
    std::vector<std::string> args(argv, argv + argc);
    std::cout << greeting_prefix << ", " << args.size() - 1 << " args\n";
    const std::string &self = args.at(0);
    const std::string tail = "hello.wasm";
    bool self_ok = self.size() >= tail.size() &&
                   self.compare(self.size() - tail.size(), tail.size(), tail) == 0;
    std::cout << "argv[0] ends in hello.wasm: " << (self_ok ? "yes" : "no: " + self) << "\n";
    for (size_t i = 1; i < args.size(); i++)
        std::cout << "arg " << i << ": [" << args[i] << "] " << args[i].size()
                  << " bytes\n";

    const char *g = std::getenv("GREETING");
    std::cout << "GREETING=" << (g ? g : "(unset)") << "\n";
    const char *m = std::getenv("MISSING");
    std::cout << "MISSING=" << (m ? m : "(unset)") << "\n";

    std::vector<std::string> env;
    for (char **e = environ; e && *e; e++)
        env.push_back(*e);
    std::sort(env.begin(), env.end());
    std::cout << "environ: " << env.size() << " entries\n";
    for (const std::string &e : env)
        std::cout << "env [" << e << "]\n";

    std::string line;
    int lines = 0;
    while (std::getline(std::cin, line)) {
        std::transform(line.begin(), line.end(), line.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        std::cout << "stdin: " << line << "\n";
        lines++;
    }
    std::cout << "stdin lines: " << lines << std::endl;
    return 0;
}
