#pragma once
// The order in which plugins are created: everything a plugin requires before it.
//
// A pure function over names, so that the rules are testable without any library: a node
// whose requirement does not exist, a node on a dependency cycle, and a node requiring a
// rejected node are rejected (with a sentence saying why); the others are ordered so that each
// comes after all it requires, and otherwise in input order (deterministic).

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace berth {

struct DependencyNode {
  std::string id;                         // unique, e.g. "io.berth.runtime.v1/native"
  std::vector<std::string> requirements;  // ids of other nodes
};

struct DependencyPlan {
  std::vector<size_t> order;                             // indices into the input, to create
  std::vector<std::pair<size_t, std::string>> rejected;  // index, why; in input order
};

// Precondition: ids are unique. Thread-compatible (no state).
DependencyPlan PlanDependencies(const std::vector<DependencyNode>& nodes);

}  // namespace berth
