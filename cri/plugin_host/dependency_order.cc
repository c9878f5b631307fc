#include "cri/plugin_host/dependency_order.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <queue>

namespace berth {
namespace {

using Graph = std::vector<std::vector<size_t>>;  // node -> nodes it requires

// Tarjan's strongly connected components; returns the component index of every node.
std::vector<size_t> Components(const Graph& g) {
  const size_t n = g.size();
  std::vector<size_t> index(n, SIZE_MAX), low(n, 0), comp(n, SIZE_MAX);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  size_t next_index = 0, next_comp = 0;
  std::function<void(size_t)> visit = [&](size_t v) {
    index[v] = low[v] = next_index++;
    stack.push_back(v);
    on_stack[v] = true;
    for (size_t w : g[v]) {
      if (index[w] == SIZE_MAX) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack[w]) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        comp[w] = next_comp;
      } while (w != v);
      ++next_comp;
    }
  };
  for (size_t v = 0; v < n; ++v) {
    if (index[v] == SIZE_MAX) visit(v);
  }
  return comp;
}

// The shortest cycle through `start` inside its component, as "a -> b -> a".
std::string DescribeCycle(const Graph& g, const std::vector<size_t>& comp,
                          const std::vector<DependencyNode>& nodes, size_t start) {
  std::vector<std::optional<size_t>> parent(g.size());
  std::queue<size_t> todo;
  todo.push(start);
  std::optional<size_t> last;
  while (!todo.empty() && !last) {
    size_t v = todo.front();
    todo.pop();
    for (size_t w : g[v]) {
      if (comp[w] != comp[start]) continue;
      if (w == start) {
        last = v;
        break;
      }
      if (!parent[w]) {
        parent[w] = v;
        todo.push(w);
      }
    }
  }
  std::vector<size_t> path{start};
  for (size_t v = *last; v != start; v = *parent[v]) path.push_back(v);
  std::reverse(path.begin() + 1, path.end());
  std::string out;
  for (size_t v : path) out += nodes[v].id + " -> ";
  return out + nodes[start].id;
}

}  // namespace

DependencyPlan PlanDependencies(const std::vector<DependencyNode>& nodes) {
  const size_t n = nodes.size();
  std::map<std::string, size_t, std::less<>> by_id;
  for (size_t i = 0; i < n; ++i) by_id.emplace(nodes[i].id, i);

  Graph requires_graph(n);
  std::vector<std::optional<std::string>> why(n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& r : nodes[i].requirements) {
      auto it = by_id.find(r);
      if (it == by_id.end()) {
        if (!why[i]) why[i] = "requires " + r + ", which is not loaded";
      } else {
        requires_graph[i].push_back(it->second);
      }
    }
  }

  std::vector<size_t> comp = Components(requires_graph);
  std::vector<size_t> comp_size(n, 0);
  for (size_t i = 0; i < n; ++i) ++comp_size[comp[i]];
  for (size_t i = 0; i < n; ++i) {
    const auto& deps = requires_graph[i];
    bool self_loop = std::find(deps.begin(), deps.end(), i) != deps.end();
    if (!why[i] && (comp_size[comp[i]] > 1 || self_loop)) {
      why[i] = "dependency cycle: " + DescribeCycle(requires_graph, comp, nodes, i);
    }
  }

  // Whoever requires a rejected node is rejected too, transitively.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (why[i]) continue;
      for (size_t d : requires_graph[i]) {
        if (why[d]) {
          why[i] = "requires " + nodes[d].id + ", which could not be loaded";
          changed = true;
          break;
        }
      }
    }
  }

  // Kahn's algorithm over the rest; the smallest ready index goes first.
  DependencyPlan plan;
  std::vector<size_t> missing(n, 0);
  std::vector<std::vector<size_t>> dependents(n);
  for (size_t i = 0; i < n; ++i) {
    if (why[i]) continue;
    for (size_t d : requires_graph[i]) {
      ++missing[i];
      dependents[d].push_back(i);
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (!why[i] && missing[i] == 0) ready.push(i);
  }
  while (!ready.empty()) {
    size_t v = ready.top();
    ready.pop();
    plan.order.push_back(v);
    for (size_t w : dependents[v]) {
      if (--missing[w] == 0) ready.push(w);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (why[i]) plan.rejected.emplace_back(i, *why[i]);
  }
  return plan;
}

}  // namespace berth
