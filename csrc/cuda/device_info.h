#pragma once
namespace gz {
int cuda_device_count();
}
