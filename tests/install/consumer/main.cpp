#include <rustimg/platform.hpp>
#include <iostream>
int main(){ std::cout << rustimg::parse_platform("aarch64").to_string() << "\n"; }
