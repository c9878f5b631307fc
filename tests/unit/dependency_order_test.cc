// The plugin creation order rules, on names only (cri/plugin_host/dependency_order.h).

#include "cri/plugin_host/dependency_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TEST(DependencyOrderTest, RequirementsComeFirstOtherwiseInputOrder) {
  DependencyPlan plan = PlanDependencies({
      {"c", {"b"}},
      {"a", {}},
      {"b", {"a"}},
      {"d", {}},
  });
  EXPECT_THAT(plan.order, ElementsAre(1, 2, 0, 3));
  EXPECT_THAT(plan.rejected, IsEmpty());
}

TEST(DependencyOrderTest, MissingRequirementRejectsTheNodeAndItsDependents) {
  DependencyPlan plan = PlanDependencies({
      {"a", {"ghost"}},
      {"b", {"a"}},
      {"c", {}},
  });
  EXPECT_THAT(plan.order, ElementsAre(2));
  EXPECT_THAT(plan.rejected, ElementsAre(Pair(0, "requires ghost, which is not loaded"),
                                         Pair(1, "requires a, which could not be loaded")));
}

TEST(DependencyOrderTest, EveryNodeOfACycleIsRejectedWithItsCycle) {
  DependencyPlan plan = PlanDependencies({
      {"a", {"b"}},
      {"b", {"c"}},
      {"c", {"a"}},
      {"d", {"a"}},
      {"e", {}},
  });
  EXPECT_THAT(plan.order, ElementsAre(4));
  EXPECT_THAT(plan.rejected, ElementsAre(Pair(0, "dependency cycle: a -> b -> c -> a"),
                                         Pair(1, "dependency cycle: b -> c -> a -> b"),
                                         Pair(2, "dependency cycle: c -> a -> b -> c"),
                                         Pair(3, "requires a, which could not be loaded")));
}

TEST(DependencyOrderTest, SelfRequirementIsACycle) {
  DependencyPlan plan = PlanDependencies({{"a", {"a"}}});
  EXPECT_THAT(plan.order, IsEmpty());
  EXPECT_THAT(plan.rejected, ElementsAre(Pair(0, "dependency cycle: a -> a")));
}

TEST(DependencyOrderTest, DiamondIsCreatedOnce) {
  DependencyPlan plan = PlanDependencies({
      {"top", {"left", "right"}},
      {"left", {"base"}},
      {"right", {"base", "base"}},
      {"base", {}},
  });
  EXPECT_THAT(plan.order, ElementsAre(3, 1, 2, 0));
  EXPECT_THAT(plan.rejected, IsEmpty());
}

}  // namespace
}  // namespace berth
