#include "blockdev/elevator.h"

#include <list>

#include "blockdev/mq_deadline.h"

namespace cardfs::blockdev {

Result<std::string> Elevator::read_tunable(std::string_view name) const {
  return Status::error(ENOENT, "no iosched tunable '" + std::string(name) + "' in " + this->name());
}

Status Elevator::write_tunable(std::string_view name, std::string_view) {
  return Status::error(ENOENT, "no iosched tunable '" + std::string(name) + "' in " + this->name());
}

namespace {

// "none": requests go to the device in the order they were inserted.
class NoneElevator final : public Elevator {
 public:
  const char* name() const override { return "none"; }
  void insert(Request* rq, Nanos) override { rq->fifo_pos = fifo_.insert(fifo_.end(), rq); }
  Request* dispatch(Nanos) override {
    if (fifo_.empty()) return nullptr;
    Request* rq = fifo_.front();
    fifo_.pop_front();
    return rq;
  }
  void remove(Request* rq) override { fifo_.erase(rq->fifo_pos); }
  size_t size() const override { return fifo_.size(); }
  std::vector<Request*> drain() override {
    std::vector<Request*> out(fifo_.begin(), fifo_.end());
    fifo_.clear();
    return out;
  }

 private:
  std::list<Request*> fifo_;
};

}  // namespace

std::unique_ptr<Elevator> make_elevator(std::string_view name) {
  if (name == "none") return std::make_unique<NoneElevator>();
  if (name == "mq-deadline") return std::make_unique<DeadlineElevator>();
  return nullptr;
}

void MergeIndex::add(Request* rq) {
  by_end_[key(rq->shape.op, rq->shape.end())] = rq;
  by_start_[key(rq->shape.op, rq->shape.sector)] = rq;
}

void MergeIndex::remove(Request* rq) {
  auto e = by_end_.find(key(rq->shape.op, rq->shape.end()));
  if (e != by_end_.end() && e->second == rq) by_end_.erase(e);
  auto s = by_start_.find(key(rq->shape.op, rq->shape.sector));
  if (s != by_start_.end() && s->second == rq) by_start_.erase(s);
}

Request* MergeIndex::ending_at(BioOp op, uint64_t sector) const {
  auto it = by_end_.find(key(op, sector));
  return it == by_end_.end() ? nullptr : it->second;
}

Request* MergeIndex::starting_at(BioOp op, uint64_t sector) const {
  auto it = by_start_.find(key(op, sector));
  return it == by_start_.end() ? nullptr : it->second;
}

}  // namespace cardfs::blockdev
